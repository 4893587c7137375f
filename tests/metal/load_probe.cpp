// Prints what device::system_default() does when Metal cannot be loaded (the CTest entry points
// PYMETAL_METAL at a path that does not exist and matches the message).
#include <pymetal/metal.hpp>

#include <iostream>

int main() {
    try {
        auto device = pymetal::device::system_default();
        std::cout << "loaded: " << device.name() << "\n";
    } catch (const pymetal::load_error& e) {
        std::cout << "load_error: " << e.what() << "\n";
    }
}
