#pragma once

#include <vector>

#include <pymetal/objc.hpp>

#include "bench_kernels.hpp"
#include "runner.hpp"

namespace bench {

class softmetal_runner final : public runner {
public:
    softmetal_runner();
    ~softmetal_runner() override;
    std::string name() const override { return "softmetal"; }
    double compile_seconds(const std::string& source) override;
    double empty_dispatch_seconds() override;
    double add_seconds(std::size_t count) override;
    double reduce_seconds(std::size_t count) override;

private:
    pymetal::object build(const std::string& source);
    pymetal::object new_buffer(std::size_t bytes);
    void run(std::size_t pipeline, const std::vector<pymetal::id>& buffers, pymetal::mtl_size grid,
             pymetal::mtl_size group, bool exact_grid);

    pymetal::object device_, queue_, library_;
    std::vector<pymetal::object> pipelines_;
};

}  // namespace bench
