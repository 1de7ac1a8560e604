#include "client/command_status.h"

#include <iostream>

namespace fedseg::client {

int FailCommand(const Status& st) {
  std::cerr << "error: " << st.message() << "\n";
  return st.IsInvalidArgument() || st.IsNotFound() ? 2 : 1;
}

}  // namespace fedseg::client
