#!/usr/bin/python3
"""Generates the reference constants of tests/privacy/accounting/rdp_accountant_test.cc.

Two independent references for fedseg's RDP accountant (privacy/accounting/rdp_accountant.cc):

1. The exact Renyi divergence of the Poisson-subsampled Gaussian mechanism, evaluated with mpmath
   at high precision (no series and no log-space tricks):
       A_alpha = E_{z ~ N(0, s^2)} [ (1 - q + q exp((2z - 1) / (2 s^2)))^alpha ]
       RDP(alpha) = log(A_alpha) / (alpha - 1)
   (Mironov, Talwar and Zhang 2019, "Renyi Differential Privacy of the Sampled Gaussian
   Mechanism", Section 3). At integer orders the binomial expansion is summed exactly in mpmath; at
   fractional orders A_alpha - 1 = E[y^alpha - 1 - alpha (y - 1)] (a non-negative integrand, so no
   cancellation) is integrated numerically with tanh-sinh quadrature on many sub-intervals. Integer
   orders are also integrated, and the script checks that both agree.

2. A faithful re-implementation of Opacus's RDP analysis (opacus/accountants/analysis/rdp.py,
   itself a port of TF-Privacy's rdp_accountant.py; Apache-2.0), in double precision with
   numpy/scipy: the same integer and fractional log(A_alpha) series, the same log-space add/sub,
   the same termination rule (terms below exp(-30)), and the same conversion to (eps, delta)
   (Balle et al. 2020, Theorem 21). It is used for the epsilon reference values.

Usage (Debian 12; the system python carries the packages):
    apt-get install -y python3-mpmath python3-scipy python3-numpy
    /usr/bin/python3 tests/privacy/accounting/gen_rdp_reference.py > /tmp/ref.inc
and paste the printed blocks over the constants in rdp_accountant_test.cc. It takes a few minutes.
"""

import math
import sys
import warnings

import mpmath
import numpy as np
from scipy import special

DPS = 40  # decimal digits used by mpmath


def default_orders():
    """dp_accounting's DEFAULT_RDP_ORDERS, built with the same float operations."""
    return [1 + x / 10.0 for x in range(1, 100)] + list(range(11, 64)) + [128, 256, 512, 1024]


# ---------------------------------------------------------------------------------------------
# 1. High-precision reference.
# ---------------------------------------------------------------------------------------------


def _exact_am1_integer(q, s, n):
    """A_n - 1 for integer n, exact binomial sum (all terms k >= 2 are non-negative)."""
    total = mpmath.mpf(0)
    for k in range(2, n + 1):
        total += (mpmath.binomial(n, k) * (1 - q) ** (n - k) * q**k *
                  mpmath.expm1(mpmath.mpf(k * k - k) / (2 * s * s)))
    return total


def _quad_am1(q, s, a):
    """A_alpha - 1 by quadrature of N(0,s^2)-density * (y^a - 1 - a (y - 1))."""
    two_s2 = 2 * s * s

    def integrand(z):
        y = 1 - q + q * mpmath.exp((2 * z - 1) / two_s2)
        return mpmath.exp(-z * z / two_s2) * (y**a - 1 - a * (y - 1))

    z0 = s * s * mpmath.log(1 / q - 1) + mpmath.mpf(0.5)
    z0 = min(max(z0, -40 * s), a + 40 * s)
    lo = min(mpmath.mpf(0), z0) - 14 * s
    hi = max(a, z0) + 14 * s
    pts = [-mpmath.inf]
    n = int(mpmath.ceil((hi - lo) / s))
    pts += [lo + (hi - lo) * i / n for i in range(n + 1)]
    extra = [mpmath.mpf(0), mpmath.mpf(0.5), z0, a]
    pts = sorted(set(pts[1:] + [p for p in extra if lo < p < hi]))
    pts = [-mpmath.inf] + pts + [mpmath.inf]
    # Normalise by the largest sampled value so that quad's error estimate, which is absolute,
    # is met at a modest degree whatever the magnitude of A_alpha.
    finite = pts[1:-1]
    samples = finite + [(u + v) / 2 for u, v in zip(finite, finite[1:])]
    scale = max(abs(integrand(z)) for z in samples)
    value, err = mpmath.quad(lambda z: integrand(z) / scale, pts, error=True, maxdegree=10)
    norm = scale / (s * mpmath.sqrt(2 * mpmath.pi))
    return value * norm, err * norm


def exact_rdp(q, sigma, alpha, check_quadrature=False):
    """RDP of one step at order alpha, as an mpf, for the exact double inputs."""
    with mpmath.workdps(DPS):
        q = mpmath.mpf(q)
        s = mpmath.mpf(sigma)
        a = mpmath.mpf(alpha)
        if q == 1:
            return a / (2 * s * s)
        if float(alpha).is_integer():
            am1 = _exact_am1_integer(q, s, int(alpha))
            if check_quadrature:
                quad, _ = _quad_am1(q, s, a)
                rel = abs(quad - am1) / am1
                if rel > mpmath.mpf(10)**-20:
                    raise RuntimeError(f"quadrature check failed: q={q} s={s} a={a} rel={rel}")
        else:
            am1, err = _quad_am1(q, s, a)
            if not (am1 > 0) or err > am1 * mpmath.mpf(10)**-18:
                raise RuntimeError(f"quadrature inaccurate: q={q} s={s} a={a} {am1} +- {err}")
        return mpmath.log1p(am1) / (a - 1)


def exact_epsilon(rdp_one_step, orders, steps, delta):
    """The conversion of the accountant (Balle et al. 2020, Thm 21) in high precision."""
    with mpmath.workdps(DPS):
        best = None
        for a, r in zip(orders, rdp_one_step):
            a = mpmath.mpf(a)
            eps = (r * steps - (mpmath.log(mpmath.mpf(delta)) + mpmath.log(a)) / (a - 1) +
                   mpmath.log((a - 1) / a))
            if best is None or eps < best[0]:
                best = (eps, a)
        return max(best[0], mpmath.mpf(0)), best[1]


# ---------------------------------------------------------------------------------------------
# 2. Re-implementation of Opacus's RDP analysis (double precision, numpy/scipy).
# ---------------------------------------------------------------------------------------------


def _op_log_add(logx, logy):
    a, b = min(logx, logy), max(logx, logy)
    if a == -np.inf:
        return b
    return math.log1p(math.exp(a - b)) + b


def _op_log_sub(logx, logy):
    if logx < logy:
        raise ValueError("The result of subtraction must be non-negative.")
    if logy == -np.inf:
        return logx
    if logx == logy:
        return -np.inf
    try:
        return math.log(math.expm1(logx - logy)) + logy
    except OverflowError:
        return logx


def _op_log_erfc(x):
    return math.log(2) + special.log_ndtr(-x * 2**0.5)


def _op_log_a_int(q, sigma, alpha):
    log_a = -np.inf
    for i in range(alpha + 1):
        log_coef_i = math.log(special.binom(alpha, i)) + i * math.log(q) + (alpha - i) * math.log(1 - q)
        s = log_coef_i + (i * i - i) / (2 * (sigma**2))
        log_a = _op_log_add(log_a, s)
    return float(log_a)


def _op_log_a_frac(q, sigma, alpha):
    log_a0, log_a1 = -np.inf, -np.inf
    i = 0
    z0 = sigma**2 * math.log(1 / q - 1) + 0.5
    while True:
        coef = special.binom(alpha, i)
        log_coef = math.log(abs(coef))
        j = alpha - i
        log_t0 = log_coef + i * math.log(q) + j * math.log(1 - q)
        log_t1 = log_coef + j * math.log(q) + i * math.log(1 - q)
        log_e0 = math.log(0.5) + _op_log_erfc((i - z0) / (math.sqrt(2) * sigma))
        log_e1 = math.log(0.5) + _op_log_erfc((z0 - j) / (math.sqrt(2) * sigma))
        log_s0 = log_t0 + (i * i - i) / (2 * (sigma**2)) + log_e0
        log_s1 = log_t1 + (j * j - j) / (2 * (sigma**2)) + log_e1
        if coef > 0:
            log_a0 = _op_log_add(log_a0, log_s0)
            log_a1 = _op_log_add(log_a1, log_s1)
        else:
            log_a0 = _op_log_sub(log_a0, log_s0)
            log_a1 = _op_log_sub(log_a1, log_s1)
        i += 1
        if max(log_s0, log_s1) < -30:
            break
    return _op_log_add(log_a0, log_a1)


def opacus_rdp(q, sigma, alpha):
    if q == 0:
        return 0
    if sigma == 0:
        return np.inf
    if q == 1.0:
        return alpha / (2 * sigma**2)
    if np.isinf(alpha):
        return np.inf
    if float(alpha).is_integer():
        return _op_log_a_int(q, sigma, int(alpha)) / (alpha - 1)
    return _op_log_a_frac(q, sigma, alpha) / (alpha - 1)


def opacus_compute_rdp(q, noise_multiplier, steps, orders):
    return np.array([opacus_rdp(q, noise_multiplier, order) for order in orders]) * steps


def opacus_get_privacy_spent(orders, rdp, delta):
    orders_vec = np.atleast_1d(orders).astype(float)
    rdp_vec = np.atleast_1d(rdp)
    eps = rdp_vec - (np.log(delta) + np.log(orders_vec)) / (orders_vec - 1) + np.log(
        (orders_vec - 1) / orders_vec)
    if np.isnan(eps).all():
        return np.inf, np.nan
    idx = np.nanargmin(eps)
    return float(eps[idx]), float(orders_vec[idx])


# ---------------------------------------------------------------------------------------------
# Reference points and output.
# ---------------------------------------------------------------------------------------------

# (q, sigma, order): RDP of one step against the high-precision evaluation.
RDP_POINTS = [
    (q, s, a)
    for q in (1e-4, 0.01, 0.5, 0.999)
    for s in (0.5, 1.1, 10.0)
    for a in (1.1, 1.5, 2.0, 2.5, 7.3, 10.9, 32.0, 1024.0)
] + [
    (0.01, 1.1, 100.5),
    (0.01, 0.5, 1000.5),
    (1e-4, 10.0, 1000.5),
    (0.3, 4.0, 3.7),
    (0.7, 2.0, 5.5),
    (1e-4, 2.0, 1.01),
    (0.05, 0.8, 128.0),
    # Outside the supported range (sigma in [0.5, 10], orders >= 1.1), where cancellation costs
    # digits and the error bound rounds the result up.
    (0.5, 10.0, 1.0001),
    (0.5, 100.0, 1.1),
    (0.5, 1000.0, 1.5),
    (0.01, 1000.0, 10.9),
]

# (q, sigma, steps, delta): epsilon against the Opacus re-implementation and the exact value.
EPS_POINTS = [
    (q, s, t, d)
    for q in (1e-4, 1.0)
    for s in (0.5, 10.0)
    for t in (1, 1000000)
    for d in (1e-10, 1e-3)
] + [
    (0.01, 1.1, 10000, 1e-5),
    (0.004, 1.0, 15625, 1e-5),
    (0.02, 0.8, 2000, 1e-6),
    (1.0, 5.0, 1, 1e-5),
    (0.001, 2.0, 100000, 1e-8),
]


def fmt(x):
    return repr(float(x))


def main():
    warnings.simplefilter("ignore")
    orders = default_orders()
    out = sys.stdout
    out.write("// ---- generated by tests/privacy/accounting/gen_rdp_reference.py ----\n")
    out.write("// {q, sigma, order, exact RDP of one step (mpmath, %d digits)}\n" % DPS)
    out.write("constexpr RdpPoint kRdpReference[] = {\n")
    for q, s, a in RDP_POINTS:
        r = exact_rdp(q, s, a, check_quadrature=(a <= 64 and float(a).is_integer()))
        out.write("    {%s, %s, %s, %s},\n" % (fmt(q), fmt(s), fmt(a), mpmath.nstr(r, 17, min_fixed=-3,
                                                                                  max_fixed=3)))
        out.flush()
    out.write("};\n\n")

    exact_rdp_cache = {}
    out.write("// {q, sigma, steps, delta, Opacus epsilon, Opacus order, exact epsilon (mpmath)}\n")
    out.write("constexpr EpsilonPoint kEpsilonReference[] = {\n")
    for q, s, t, d in EPS_POINTS:
        rdp = opacus_compute_rdp(q, s, t, orders)
        eps, order = opacus_get_privacy_spent(orders, rdp, d)
        if (q, s) not in exact_rdp_cache:
            exact_rdp_cache[(q, s)] = [exact_rdp(q, s, a) for a in orders]
        ex, _ = exact_epsilon(exact_rdp_cache[(q, s)], orders, t, d)
        out.write("    {%s, %s, %d, %s, %s, %s, %s},\n" %
                  (fmt(q), fmt(s), t, fmt(d), fmt(eps), fmt(order),
                   mpmath.nstr(ex, 17, min_fixed=-3, max_fixed=3)))
        out.flush()
    out.write("};\n")
    out.write("// ---- end of generated constants ----\n")


if __name__ == "__main__":
    main()
