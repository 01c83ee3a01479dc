#pragma once
// bridges::text: the text toolkit the text plugins share.
#include "bridges/text/tokenizer.hpp"
#include "bridges/text/word_vectors.hpp"
