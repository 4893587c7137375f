/// \file
/// The Objective-C bridge: runtime loading, msg_send, ownership, pools, Foundation values, class builder.
#pragma once

#include "autorelease_pool.hpp"
#include "class_builder.hpp"
#include "error.hpp"
#include "foundation.hpp"
#include "msg_send.hpp"
#include "object.hpp"
#include "objc_types.hpp"
#include "selector.hpp"
#include "type_encoding.hpp"
#include "block.hpp"
#include "metal_types.hpp"
