// A scratch folder of small files for the feature tests, removed at the end of the test.
#ifndef FEDSEG_TESTS_COMMON_FEATURES_TEST_FILES_H_
#define FEDSEG_TESTS_COMMON_FEATURES_TEST_FILES_H_

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace fedseg::features {

class TestDir {
 public:
  TestDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "fedseg_features_XXXXXX").string();
    dir_ = ::mkdtemp(tmpl.data());
  }
  ~TestDir() { std::filesystem::remove_all(dir_); }
  std::string Write(const std::string& name, const std::string& text) const {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }
  const std::string& path() const { return dir_; }

 private:
  std::string dir_;
};

}  // namespace fedseg::features

#endif  // FEDSEG_TESTS_COMMON_FEATURES_TEST_FILES_H_
