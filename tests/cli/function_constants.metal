// A library with function constants, built by `pymetal-msl build`: the file carries the source, and a
// specialised function is compiled from it where it is specialised.
#include <metal_stdlib>
using namespace metal;

constant int factor [[function_constant(0)]];
constant bool negate [[function_constant(1)]];

// BIAS comes from the build's -D: specialising must compile with the macros the library was built with.
kernel void affine(device const int* in [[buffer(0)]], device int* out [[buffer(1)]], uint i [[thread_position_in_grid]]) {
    int v = in[i] * factor;
    out[i] = (negate ? -v : v) + BIAS;
}

// No constants: runs from the file without any compiler.
kernel void twice(device const int* in [[buffer(0)]], device int* out [[buffer(1)]], uint i [[thread_position_in_grid]]) {
    out[i] = in[i] * 2;
}
