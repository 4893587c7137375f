// Must not compile: kernel::dispatch_threads_future used with metal.hpp alone. The CTest test
// pymetal_future_forms_name_their_header checks that the error names <pymetal/future.hpp>.
#include <pymetal/metal.hpp>

void submit(const pymetal::kernel& k, const pymetal::buffer& b) {
    auto done = k.dispatch_threads_future({b}, 4);
    done.get();
}
