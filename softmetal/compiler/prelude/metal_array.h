// softmetal prelude: metal::array<T, N> (metal_array), a fixed-size array that is an aggregate
// (`array<float, 3> a = {1, 2, 3};`), copies by value and works with range-for.
//
// Member functions have C++ for OpenCL's generic `this`, so the same operator[] serves arrays in
// thread, device, threadgroup and constant memory, as MSL's address-space overloads do.
#ifndef SOFTMETAL_PRELUDE_METAL_ARRAY_H
#define SOFTMETAL_PRELUDE_METAL_ARRAY_H

#include "metal_types.h"

namespace metal {

template <class T, size_t N> struct array {
    // Public so that the class stays an aggregate; N == 0 still gets one element of storage.
    T sm_elems[N > 0 ? N : 1];

    using value_type = T;
    using size_type = size_t;
    using difference_type = ptrdiff_t;

    SM_INLINE T &operator[](size_t i) { return sm_elems[i]; }
    SM_INLINE const T &operator[](size_t i) const { return sm_elems[i]; }
    SM_INLINE T &front() { return sm_elems[0]; }
    SM_INLINE const T &front() const { return sm_elems[0]; }
    SM_INLINE T &back() { return sm_elems[N - 1]; }
    SM_INLINE const T &back() const { return sm_elems[N - 1]; }
    SM_INLINE T *data() { return sm_elems; }
    SM_INLINE const T *data() const { return sm_elems; }
    SM_INLINE T *begin() { return sm_elems; }
    SM_INLINE const T *begin() const { return sm_elems; }
    SM_INLINE T *end() { return sm_elems + N; }
    SM_INLINE const T *end() const { return sm_elems + N; }
    static constexpr size_t size() { return N; }
    static constexpr size_t max_size() { return N; }
    static constexpr bool empty() { return N == 0; }
};

} // namespace metal

#endif
