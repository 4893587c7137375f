// The C++ state of an object that comes from NSObject's +alloc/-init (descriptors, listeners): no
// softmetal constructor runs, so the state is made on first use, under a lock (two threads may touch a
// new object at once). The class's dealloc frees it as for any other softmetal object.
#pragma once

#include <mutex>

#include <pymetal/class_builder.hpp>

namespace softmetal::objects {

template <class State>
State& state_on_first_use(pymetal::id self) {
    static std::mutex creation;
    std::lock_guard<std::mutex> lock(creation);
    auto* existing = pymetal::state_of<State>(self);
    if (!existing) {
        existing = new State;
        pymetal::set_state(self, existing);
    }
    return *existing;
}

}  // namespace softmetal::objects
