// What the benchmark asks of each implementation: the same four measurements.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace bench {

class runner {
public:
    virtual ~runner() = default;
    virtual std::string name() const = 0;
    // Seconds to build `source` (the kernels of bench_kernels.hpp, made unique by the caller).
    virtual double compile_seconds(const std::string& source) = 0;
    // Seconds for one empty dispatch of one thread plus the wait for it (median of many).
    virtual double empty_dispatch_seconds() = 0;
    // out[i] = in[i].x + in[i].y over `count` elements: best seconds of a few runs; checks the result.
    virtual double add_seconds(std::size_t count) = 0;
    // 256-wide threadgroup tree reduction over `count` floats: best seconds; checks the partial sums.
    virtual double reduce_seconds(std::size_t count) = 0;
};

// Fills the add benchmark's input and checks its output, so each runner checks the same way.
std::vector<float> add_input(std::size_t count);          // 2 * count floats
bool add_output_ok(const float* out, std::size_t count);
std::vector<float> reduce_input(std::size_t count);
bool reduce_output_ok(const float* partial, std::size_t count);

}  // namespace bench
