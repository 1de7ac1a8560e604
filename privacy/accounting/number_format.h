// The one formatter of numbers in privacy messages and tools: the shortest "%g" text that reads
// back (strtod) as exactly the same double. Ledger problems, accountant errors and fedseg-audit
// output print parameters with it, so a value shown in a message can be typed back in unchanged.
#ifndef FEDSEG_PRIVACY_ACCOUNTING_NUMBER_FORMAT_H_
#define FEDSEG_PRIVACY_ACCOUNTING_NUMBER_FORMAT_H_

#include <string>

namespace fedseg::privacy {

// Shortest "%.Ng" text (N = 1..17) with strtod(text) == v: 1.5 -> "1.5", 1e-4 -> "0.0001",
// 1e-5 -> "1e-05", 0.1 -> "0.1" (not "0.10000000000000001"). 17 significant digits always read
// back exactly (IEEE 754 binary64), so that is the longest form; NaN never reads back equal and
// prints as "nan" (or "-nan"), infinities as "inf" and "-inf".
std::string FormatShortest(double v);

}  // namespace fedseg::privacy

#endif  // FEDSEG_PRIVACY_ACCOUNTING_NUMBER_FORMAT_H_
