// The run report in a real browser: headless Chromium (Debian's chromium package, installed by
// scripts/install-deps.sh) loads report.html from disk, runs the page's self-check, and dumps the
// DOM. The tests check that every plot was laid out with a non-zero size, that no script error or
// blocked load happened (the page's own error hook and Chromium's console log on stderr), and that
// hostile names from a run cannot inject markup. A missing chromium is a failure, not a skip.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <thread>

#include "common/base/file_util.h"
#include "coordinator/report/report_html.h"
#include "tests/coordinator/report/report_fixture.h"

namespace fedseg::coordinator {
namespace {

using fedseg::testing::CountOccurrences;
using fedseg::testing::LoadReportFixture;
using Json = nlohmann::json;

constexpr auto kChromiumTimeout = std::chrono::seconds(60);

// chromium on PATH, or $FEDSEG_CHROMIUM; "" when there is none.
std::string FindChromium() {
  if (const char* env = std::getenv("FEDSEG_CHROMIUM"); env != nullptr && *env != '\0') {
    return ::access(env, X_OK) == 0 ? env : "";
  }
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path != nullptr ? path : "/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    const std::string candidate = (dir.empty() ? "." : dir) + "/chromium";
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

struct BrowserRun {
  bool timed_out = false;
  int exit_code = -1;
  std::string dom;          // stdout of --dump-dom
  std::string stderr_text;  // Chromium's log, with the page's console messages
};

// Runs chromium in its own process group with stdout and stderr in files; the whole group is
// killed after the timeout (and after a normal exit, for helpers that outlive the browser).
BrowserRun RunChromium(const std::vector<std::string>& argv, const std::string& work_dir) {
  const std::string out_path = work_dir + "/chromium.out", err_path = work_dir + "/chromium.err";
  BrowserRun run;
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::setpgid(0, 0);
    const int in = ::open("/dev/null", O_RDONLY);
    const int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (in < 0 || out < 0 || err < 0) ::_exit(126);
    ::dup2(in, 0);
    ::dup2(out, 1);
    ::dup2(err, 2);
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  if (pid < 0) return run;
  ::setpgid(pid, pid);  // also from the parent, so the group exists before any kill below
  const auto deadline = std::chrono::steady_clock::now() + kChromiumTimeout;
  int status = 0;
  while (true) {
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) {
      run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      break;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      run.timed_out = true;
      ::kill(-pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ::kill(-pid, SIGKILL);  // stray renderer or zygote processes of this run; ESRCH when none
  auto dom = ReadFile(out_path);
  auto err = ReadFile(err_path);
  run.dom = dom.ok() ? *dom : "";
  run.stderr_text = err.ok() ? *err : "";
  return run;
}

// The page's console messages (errors, warnings, blocked loads) from Chromium's log.
std::vector<std::string> ConsoleLines(const std::string& log) {
  std::vector<std::string> lines;
  std::stringstream ss(log);
  std::string line;
  while (std::getline(ss, line)) {
    if (line.find(":CONSOLE") != std::string::npos || line.find("Uncaught") != std::string::npos) {
      lines.push_back(line);
    }
  }
  return lines;
}

std::string BodyAttribute(const std::string& dom, const std::string& name) {
  const size_t body = dom.find("<body");
  if (body == std::string::npos) return "<no body>";
  const std::string tag = dom.substr(body, dom.find('>', body) - body);
  const size_t at = tag.find(" " + name + "=\"");
  if (at == std::string::npos) return "<absent>";
  const size_t v = at + name.size() + 3;
  return tag.substr(v, tag.find('"', v) - v);
}

class ReportChromiumTest : public ::testing::Test {
 protected:
  void SetUp() override {
    chromium_ = FindChromium();
    ASSERT_FALSE(chromium_.empty())
        << "chromium not found on PATH (or $FEDSEG_CHROMIUM): this test renders report.html in "
           "headless Chromium. Install Debian's chromium package: sudo bash "
           "scripts/install-deps.sh";
    char tmpl[] = "/tmp/fedseg-report-chromium-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    if (!dir_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(dir_, ec);
    }
  }

  // Writes the page for `report`, loads it in headless Chromium, and returns the run.
  BrowserRun Load(const Json& report, const std::string& name) {
    const std::string page = dir_ + "/" + name + ".html";
    EXPECT_TRUE(WriteReportHtml(page, report).ok());
    const std::vector<std::string> argv = {chromium_,
                                           "--headless",
                                           "--no-sandbox",  // tests run as root
                                           "--disable-gpu",
                                           "--disable-dev-shm-usage",
                                           "--no-first-run",
                                           "--disable-extensions",
                                           "--user-data-dir=" + dir_ + "/profile-" + name,
                                           "--enable-logging=stderr",
                                           "--v=0",
                                           "--window-size=1200,900",
                                           "--dump-dom",
                                           "file://" + page};
    const auto t0 = std::chrono::steady_clock::now();
    BrowserRun run = RunChromium(argv, dir_);
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    ::testing::Test::RecordProperty(name + "_seconds", std::to_string(secs));
    EXPECT_FALSE(run.timed_out) << "chromium did not finish within " << kChromiumTimeout.count()
                                << " s";
    EXPECT_EQ(run.exit_code, 0) << run.stderr_text;
    EXPECT_NE(run.dom.find("</html>"), std::string::npos) << "no DOM dumped:\n" << run.stderr_text;
    return run;
  }

  static void ExpectCleanPage(const BrowserRun& run, const std::string& expected_plots) {
    EXPECT_EQ(BodyAttribute(run.dom, "data-plots-expected"), expected_plots);
    EXPECT_EQ(BodyAttribute(run.dom, "data-plots"), expected_plots)
        << "plots drawn with a non-zero size (the page's self-check)";
    EXPECT_EQ(BodyAttribute(run.dom, "data-errors"), "0")
        << BodyAttribute(run.dom, "data-error-messages");
    const std::vector<std::string> console = ConsoleLines(run.stderr_text);
    EXPECT_TRUE(console.empty()) << "console messages:\n" << ::testing::PrintToString(console);
  }

  std::string chromium_;
  std::string dir_;
};

TEST_F(ReportChromiumTest, RealRunReportDrawsEveryPlotWithoutErrors) {
  const BrowserRun run = Load(LoadReportFixture("report_dp.json"), "dp");
  ExpectCleanPage(run, "12");
}

TEST_F(ReportChromiumTest, RunWithoutDpDrawsItsPlots) {
  const BrowserRun run = Load(LoadReportFixture("report_plain.json"), "plain");
  ExpectCleanPage(run, "3");
}

TEST_F(ReportChromiumTest, HostileNamesNeitherRunNorInjectMarkup) {
  Json report = LoadReportFixture("report_dp.json");
  const std::string evil =
      "<img src=x onerror=console.error('pwned')><script>console.error(1)</script>";
  report["regions"][evil] = report["regions"]["Region-1"];
  report["regions"].erase("Region-1");
  report["final"]["regions"][evil] = report["final"]["regions"]["Region-1"];
  report["final"]["regions"].erase("Region-1");
  report["final"]["report"]["per_class"][0]["name"] = evil;
  report["run_id"] = "\"><svg onload=console.error(2)>";
  const BrowserRun run = Load(report, "hostile");
  ExpectCleanPage(run, "12");
  EXPECT_EQ(run.dom.find("<img"), std::string::npos);
  EXPECT_EQ(run.dom.find("<svg onload"), std::string::npos);
  EXPECT_EQ(CountOccurrences(run.dom, "<script"), 1u);
}

TEST_F(ReportChromiumTest, EmptyReportStillLoadsCleanly) {
  const BrowserRun run = Load(Json::object(), "empty");
  ExpectCleanPage(run, "0");
  EXPECT_NE(run.dom.find("Not in this report.json"), std::string::npos);
}

}  // namespace
}  // namespace fedseg::coordinator
