// `fedseg-client load`: many regions in one process, for load tests of a coordinator.
//
// Runs one FederatedClient per region config found in a directory, each on its own thread with a
// small stack, each with its own certificate, key and data, speaking the real protocol over its
// own mutual-TLS connection: exactly what `join` does, N times. One process holding N blocking
// clients costs a few hundred KiB per region, where N `join` processes would each carry a whole
// runtime (OpenSSL, OpenMP, allocator arenas). Local training uses one OpenMP thread per region.
#ifndef FEDSEG_CLIENT_LOAD_COMMAND_H_
#define FEDSEG_CLIENT_LOAD_COMMAND_H_

#include <CLI/CLI.hpp>
#include <string>

namespace fedseg::client {

struct LoadArgs {
  std::string config_dir;         // region configs: every *.json in it, in name order
  int count = 0;                  // run the first `count` of them (0 = all)
  std::string log_level = "warn"; // for every region's log lines on stderr
  int stack_kib = 1024;           // stack of each region's thread
  bool json = false;              // summary as JSON on stdout
};

// Registers `load` on `app`; its callback stores the exit code in *exit_code (0 when every region
// finished the federation, 1 when any failed, 2 for bad arguments or configs).
void AddLoadCommand(CLI::App& app, LoadArgs& args, int* exit_code);

}  // namespace fedseg::client

#endif  // FEDSEG_CLIENT_LOAD_COMMAND_H_
