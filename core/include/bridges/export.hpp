#pragma once
// Symbol visibility. Every bridges library is compiled with hidden visibility;
// what a host program or a plugin may use is marked BRIDGES_API. Classes that
// plugins derive from, or whose exceptions cross a library boundary, must be
// marked too, so that their type_info is one object across all libraries.
#define BRIDGES_API __attribute__((visibility("default")))
