// tools/odlm/main.cc — entry point of the odlm command line.
#include <cstdio>

int main(int argc, char** argv) {
  std::printf("odlm\n");
  return 0;
}
