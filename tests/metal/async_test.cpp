// Asynchronous completion: waitable handles, completion handlers, and failed command buffers.
#include "metal_test_support.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

using metal_test::device;

namespace {
const pymetal::library& kernels() {
    static const pymetal::library lib = device().compile(metal_test::kernels_source);
    return lib;
}

// Waits (bounded) for a flag set on Metal's completion thread.
struct latch {
    void open() {
        std::lock_guard<std::mutex> lock(mutex);
        opened = true;
        cv.notify_all();
    }
    bool wait() {
        std::unique_lock<std::mutex> lock(mutex);
        return cv.wait_for(lock, std::chrono::seconds(60), [&] { return opened; });
    }
    std::mutex mutex;
    std::condition_variable cv;
    bool opened = false;
};

// A command buffer that Metal (softmetal's validation, like Metal's validation layer) fails: a dispatch
// encoded through the raw encoder with no pipeline set. (pymetal's own forms refuse bad dispatches
// before encoding; see the binding checks in binding_check_test.cpp.)
pymetal::command_list failing_list() {
    pymetal::command_list list(device());
    pymetal::msg_send<void(pymetal::mtl_size, pymetal::mtl_size)>(list.native_encoder(), "dispatchThreads:threadsPerThreadgroup:",
                                                                  pymetal::mtl_size{1, 1, 1}, pymetal::mtl_size{1, 1, 1});
    return list;
}
pymetal::command_buffer unbound_dispatch_async(pymetal::completion_handler handler = {}) {
    pymetal::command_list list = failing_list();
    if (handler) list.on_completed(std::move(handler));
    return list.commit();
}
}  // namespace

TEST_CASE("run_async returns a handle that waits for the result", "[metal][async]") {
    auto data = device().new_buffer(std::vector<float>(1024, 1.0f));
    auto done = kernels().kernel("add_one").run_async({data}, 16, 64);
    done.wait();
    CHECK(done.is_done());
    CHECK_FALSE(done.failed());
    CHECK(data.copy_out<float>() == std::vector<float>(1024, 2.0f));
}

TEST_CASE("is_done becomes true without wait", "[metal][async]") {
    auto data = device().new_buffer(std::vector<float>(1024, 1.0f));
    const auto done = kernels().kernel("add_one").dispatch_threads_async({data}, 1024);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (!done.is_done() && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    REQUIRE(done.is_done());
    CHECK(done.status() == pymetal::command_buffer_status::completed);
    CHECK(data.read<float>(1023) == 2.0f);
}

TEST_CASE("a completion handler runs once, after the work, with the completed command buffer", "[metal][async]") {
    auto data = device().new_buffer(std::vector<float>(256, 1.0f));
    latch finished;
    std::atomic<int> calls{0};
    float seen = 0.0f;
    pymetal::command_buffer_status status{};
    auto done = kernels().kernel("add_one").dispatch_threads_async({data}, 256, [&](const pymetal::command_buffer& cb) {
        seen = data.read<float>(255);
        status = cb.status();
        calls.fetch_add(1);
        finished.open();
    });
    REQUIRE(finished.wait());
    done.wait();
    CHECK(calls.load() == 1);
    CHECK(seen == 2.0f);
    CHECK(status == pymetal::command_buffer_status::completed);
}

TEST_CASE("a command list's completion handlers all run", "[metal][async][command_list]") {
    auto data = device().new_buffer({1.0f});
    latch finished;
    std::atomic<int> calls{0};
    pymetal::command_list list(device().default_queue());
    list.dispatch_threads(kernels().kernel("add_one"), {data}, 1)
        .on_completed([&](const pymetal::command_buffer&) { calls.fetch_add(1); })
        .on_completed([&](const pymetal::command_buffer&) {
            calls.fetch_add(1);
            finished.open();
        });
    auto done = list.commit();
    REQUIRE(finished.wait());
    done.wait();
    CHECK(calls.load() == 2);
}

TEST_CASE("a failed command buffer throws command_error with Metal's domain, code and text on wait",
          "[metal][async][errors][softmetal]") {
    auto done = unbound_dispatch_async();
    try {
        done.wait();
        FAIL("the command buffer did not fail");
    } catch (const pymetal::command_error& e) {
        CHECK(e.domain() == pymetal::command_buffer_error_domain);
        CHECK(e.error_code() == pymetal::command_buffer_error::invalid_resource);
        CHECK(e.status() == pymetal::command_buffer_status::error);
        CHECK_FALSE(e.description().empty());
        CHECK(metal_test::contains(e.what(), "command buffer failed"));
        CHECK(metal_test::contains(e.what(), "MTLCommandBufferErrorDomain"));
    }
    CHECK(done.failed());
}

TEST_CASE("the synchronous forms throw command_error for a failed command buffer", "[metal][errors][softmetal]") {
    CHECK_THROWS_AS(failing_list().run(), pymetal::command_error);
    // A dispatch the reflection shows to be incomplete never reaches the timeline.
    CHECK_THROWS_AS(kernels().kernel("add_one").dispatch_threads({}, 1), pymetal::dispatch_error);
    CHECK_THROWS_AS(kernels().kernel("add_one").run({}, 1, 1), pymetal::dispatch_error);
}

TEST_CASE("a completion handler sees the failure of its command buffer", "[metal][async][errors][softmetal]") {
    latch finished;
    bool failed = false;
    std::string text;
    auto done = unbound_dispatch_async([&](const pymetal::command_buffer& cb) {
        failed = cb.failed();
        if (failed) text = cb.failure().what();
        finished.open();
    });
    REQUIRE(finished.wait());
    CHECK(failed);
    CHECK(metal_test::contains(text, "MTLCommandBufferErrorDomain"));
    CHECK_THROWS_AS(done.wait(), pymetal::command_error);
}

TEST_CASE("a failed command buffer does not stop the next one on the queue", "[metal][async][errors][softmetal]") {
    auto data = device().new_buffer({1.0f});
    auto failed = unbound_dispatch_async();
    auto ok = kernels().kernel("add_one").dispatch_threads_async({data}, 1);
    CHECK_NOTHROW(ok.wait());
    CHECK_THROWS_AS(failed.wait(), pymetal::command_error);
    CHECK(data.read<float>(0) == 2.0f);
}
