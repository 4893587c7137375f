// corpus::runner over the Objective-C Metal API: every kernel case of tests/kernels goes through
// MTLCompileOptions, newLibraryWithSource:, function constants, pipelines, buffers, an encoder and a
// command buffer of libsoftmetal.so, exactly as a Metal host program would drive Apple's Metal.
#pragma once

#include "kernel_corpus.hpp"
#include "softmetal_test_support.hpp"

namespace softmetal_test {

class objc_corpus_runner : public corpus::runner {
public:
    std::string run(const corpus::kernel_case& c) override;

private:
    object queue_ = new_queue();
};

}  // namespace softmetal_test
