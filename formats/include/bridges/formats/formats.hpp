#pragma once
// bridges::formats: reading and writing latents as files.
#include "bridges/formats/npy.hpp"
