// A program of a pymetal user, built against the installed package.
#include <pymetal/objc.hpp>

#include <cstdio>

int main() {
    pymetal::autorelease_pool pool;
    pymetal::object text = pymetal::make_string("consumer: ok");
    std::printf("%s\n", pymetal::to_string(text.get()).c_str());
}
