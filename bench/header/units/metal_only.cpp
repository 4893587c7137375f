// The whole Metal layer, included and not used: the parsing part of the README program's cost.
#include <pymetal/metal.hpp>

int main() { return 0; }
