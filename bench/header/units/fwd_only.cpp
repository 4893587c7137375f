// The declarations-only header.
#include <pymetal/fwd.hpp>

int main() { return 0; }
