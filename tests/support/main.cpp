// doctest's main, with LibTorch set to use every core so that the parallel
// kernels are exercised with several threads.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include "bridges/tensor.hpp"
#include "bridges/util/runtime.hpp"

int main(int argc, char** argv) {
  bridges::set_threads(0);
  doctest::Context context(argc, argv);
  return context.run();
}
