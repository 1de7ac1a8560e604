// How a fedseg-client command ends on an error: one place for the message format and exit code.
#ifndef FEDSEG_CLIENT_COMMAND_STATUS_H_
#define FEDSEG_CLIENT_COMMAND_STATUS_H_

#include "common/base/status.h"

namespace fedseg::client {

// Prints "error: <message>" to stderr and returns the command's exit code: 2 for bad input (an
// invalid argument, a file or column not found), 1 for anything else.
int FailCommand(const Status& st);

}  // namespace fedseg::client

#endif  // FEDSEG_CLIENT_COMMAND_STATUS_H_
