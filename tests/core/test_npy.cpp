#include <ATen/ops/arange.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/equal.h>

#include <cstring>
#include <cstdlib>
#include <fstream>

#include "bridges/error.hpp"
#include "bridges/util/io.hpp"
#include "bridges/formats/npy.hpp"
#include "bridges/util/runtime.hpp"

namespace fs = std::filesystem;
#include "testing.hpp"

using namespace bridges;
using bridges::testing::TempDir;

namespace {

// A .npy file as NumPy lays it out: magic, version, header length, a dict
// literal padded with spaces to a 64-byte boundary and ending in '\n', data.
std::string npy_file(const std::string& dict, const std::string& data, int major = 1) {
  std::string header = dict;
  const std::size_t preamble = major == 1 ? 10 : 12;
  header.append((64 - (preamble + header.size() + 1) % 64) % 64, ' ');
  header += '\n';
  std::string out = std::string("\x93NUMPY", 6) + static_cast<char>(major) + '\0';
  const auto len = static_cast<uint32_t>(header.size());
  out += static_cast<char>(len & 0xff);
  out += static_cast<char>((len >> 8) & 0xff);
  if (major != 1) {
    out += static_cast<char>((len >> 16) & 0xff);
    out += static_cast<char>((len >> 24) & 0xff);
  }
  return out + header + data;
}

std::string floats(std::initializer_list<float> values) {
  std::string out(values.size() * sizeof(float), '\0');
  std::memcpy(out.data(), values.begin(), out.size());
  return out;
}

}  // namespace

TEST_CASE("npy round trip keeps dtype, shape and values") {
  TempDir dir;
  for (auto dtype : {at::kFloat, at::kDouble, at::kLong, at::kInt, at::kByte, at::kBool}) {
    for (const std::vector<int64_t>& shape : std::vector<std::vector<int64_t>>{{7}, {3, 5}, {2, 3, 4}, {0, 5}, {0}}) {
      CAPTURE(describe(at::empty(shape, at::TensorOptions().dtype(dtype))));
      int64_t n = 1;
      for (auto s : shape) n *= s;
      const Tensor t = (at::arange(n, at::TensorOptions().dtype(at::kDouble)) * 1.5 - 3).to(dtype).reshape(shape);
      write_npy(dir / "t.npy", t);
      const Tensor back = read_npy(dir / "t.npy");
      CHECK((back.scalar_type() == dtype));
      CHECK(back.sizes() == t.sizes());
      CHECK(at::equal(back, t));
    }
  }
}

TEST_CASE("npy files are written as NumPy writes them") {
  TempDir dir;
  write_npy(dir / "a.npy", at::arange(6, at::TensorOptions().dtype(at::kFloat)).reshape({2, 3}));
  const std::string bytes = read_text(dir / "a.npy");
  CHECK(bytes.substr(0, 8) == std::string("\x93NUMPY\x01\x00", 8));
  const std::size_t header_len = static_cast<unsigned char>(bytes[8]) | (static_cast<unsigned char>(bytes[9]) << 8);
  CHECK((10 + header_len) % 64 == 0);
  CHECK(bytes[10 + header_len - 1] == '\n');
  CHECK(bytes.find("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }") == 10);
  CHECK(bytes.size() == 10 + header_len + 6 * sizeof(float));
  write_npy(dir / "b.npy", at::arange(3, at::TensorOptions().dtype(at::kLong)));
  CHECK(read_text(dir / "b.npy").find("'shape': (3,)") != std::string::npos);
}

TEST_CASE("npy reads NumPy files of format versions 1, 2 and 3") {
  TempDir dir;
  for (int major : {1, 2, 3}) {
    testing::write_bytes(dir / "v.npy",
                npy_file("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }", floats({1, 2, 3, 4}), major));
    const Tensor t = read_npy(dir / "v.npy");
    CHECK(t.sizes() == at::IntArrayRef{2, 2});
    CHECK(t[1][0].item<float>() == 3.0f);
  }
  // Double quotes and no trailing comma are valid Python too.
  testing::write_bytes(dir / "q.npy", npy_file(R"({"descr": "<f4", "fortran_order": False, "shape": (4,)})", floats({1, 2, 3, 4})));
  CHECK(read_npy(dir / "q.npy").size(0) == 4);
}

TEST_CASE("npy rejects what it cannot read, naming the file and what was found") {
  TempDir dir;
  const auto file = dir / "bad.npy";
  const std::string path = file.string();
  const std::string f4 = floats({1, 2, 3, 4});
  const auto check_bad = [&](const std::string& bytes, std::vector<std::string> parts) {
    testing::write_bytes(file, bytes);
    parts.push_back(path);
    try {
      read_npy(file);
      FAIL_CHECK("no error for " << parts[0]);
    } catch (const FormatError& e) {
      for (const auto& part : parts) CHECK_MESSAGE(std::string(e.what()).find(part) != std::string::npos, e.what());
    }
  };
  check_bad(npy_file("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", f4), {"Fortran", "ascontiguousarray"});
  check_bad(npy_file("{'descr': '>f4', 'fortran_order': False, 'shape': (2, 2), }", f4), {"big endian", "'>f4'"});
  check_bad(npy_file("{'descr': '|O', 'fortran_order': False, 'shape': (2,), }", "xxxxxxxxxxxxxxxx"), {"Python objects"});
  check_bad(npy_file("{'descr': '<u2', 'fortran_order': False, 'shape': (8,), }", f4), {"'<u2' is not supported", "<f4"});
  check_bad(npy_file("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", f4), {"truncated", "(2, 3)", "24 bytes", "16"});
  check_bad(npy_file("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", f4), {"4 bytes follow"});
  check_bad("PK\x03\x04 this is a zip", {"magic"});
  check_bad(std::string("\x93NUMPY\x09\x00", 8) + "xx", {"version 9.0"});
  check_bad(std::string("\x93NUMPY\x01\x00\x40\x00{'descr'", 18), {"header is truncated"});
  check_bad(npy_file("{'descr': '<f4', 'fortran_order': False}", f4), {"no 'shape' entry"});
  check_bad(npy_file("{'descr': '<f4', 'fortran_order': False, 'shape': (2, x), }", f4), {"not a tuple"});
  check_bad(npy_file("{'descr': '<f4', 'fortran_order': False, 'shape': (-2, 2), }", f4), {"not a tuple"});
  check_bad("\x93NU", {"shorter than"});
  CHECK_THROWS_WITH_ALL(read_npy(dir / "missing.npy"), IoError, "missing.npy", "cannot open");
}

TEST_CASE("npy refuses dtypes it cannot write") {
  TempDir dir;
  CHECK_THROWS_WITH_ALL(write_npy(dir / "i.npy", at::arange(3, at::TensorOptions().dtype(at::kShort))), ShapeError,
                        "int16", "float32, float64, int64, int32, uint8 and bool");
  CHECK(testing::list_folder(dir.path()).empty());
}

TEST_CASE("atomic writes leave the old file and no temporary file when writing fails") {
  TempDir dir;
  const auto file = dir / "out.txt";
  write_text_atomically(file, "old");
  CHECK_THROWS_AS(write_file_atomically(file,
                                        [](std::ostream& out) {
                                          out << "half";
                                          throw IoError("interrupted");
                                        }),
                  IoError);
  CHECK(read_text(file) == "old");
  CHECK(testing::list_folder(dir.path()) == std::vector<std::string>{"out.txt"});
  write_text_atomically(dir / "deep" / "er" / "new.txt", "new");  // creates the folders
  CHECK(read_text(dir / "deep" / "er" / "new.txt") == "new");
  CHECK_THROWS_WITH_ALL(write_text_atomically("/proc/bridges-cannot-write/x.txt", "x"), IoError,
                        "/proc/bridges-cannot-write");
}

TEST_CASE("a mapped .npy gives rows without reading the file, and never changes it") {
  TempDir dir;
  const Tensor x = testing::randn({37, 5}, 1, at::kDouble);
  write_npy(dir / "x.npy", x);
  const MappedNpy in(dir / "x.npy");
  CHECK(in.rows() == 37);
  CHECK((in.dtype() == at::kDouble));
  CHECK(in.header().shape == std::vector<int64_t>{37, 5});
  CHECK(at::equal(in.slice(0, 37), x));
  CHECK(at::equal(in.slice(30, 7), x.narrow(0, 30, 7)));
  CHECK(in.slice(37, 0).size(0) == 0);
  in.prefetch(10, 100);  // past the end: clamped
  in.release(0, 20);     // pages dropped; the rows read back the same
  CHECK(at::equal(in.slice(0, 20), x.narrow(0, 0, 20)));
  Tensor view = in.slice(0, 2);
  view.fill_(7);  // copy-on-write: this process's copy only
  CHECK(at::equal(read_npy(dir / "x.npy"), x));
  {
    const Tensor kept = MappedNpy(dir / "x.npy").slice(3, 2);  // the tensor keeps the mapping alive
    CHECK(at::equal(kept, x.narrow(0, 3, 2)));
  }
  CHECK_THROWS_WITH_ALL(in.slice(36, 2), ShapeError, "x.npy", "rows [36, 38)", "37 rows");
  testing::write_bytes(dir / "short.npy", npy_file("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }",
                                                   floats({1, 2, 3})));
  CHECK_THROWS_WITH_ALL(MappedNpy(dir / "short.npy"), FormatError, "short.npy", "truncated");
  CHECK_THROWS_WITH_ALL(MappedNpy(dir / "missing.npy"), IoError, "missing.npy", "cannot open");
}

TEST_CASE("direct writing: aligned memory goes without a copy, the rest through the stage; the file is the same") {
  TempDir dir;
  // Rows of 4000 bytes: 4096 rows are exactly 4000 blocks of 4 KiB.
  const int64_t n = 7001, d = 1000;
  const auto floats = at::TensorOptions().dtype(at::kFloat);
  const Tensor x = empty_large({n, d}, floats).copy_(testing::randn({n, d}, 3));
  REQUIRE(reinterpret_cast<uintptr_t>(x.data_ptr()) % NpyWriter::kAlignment == 0);
  // The same rows 4 bytes past a block boundary: never aligned like the file.
  const Tensor shifted = empty_large({n * d + 1}, floats).narrow(0, 1, n * d).view({n, d}).copy_(x);

  NpyWriter writer(dir / "x.npy", at::kFloat, {n, d});
  if (!writer.direct()) MESSAGE("no direct I/O under " << dir.path().string() << ": only the buffered path ran");
  const auto copied_since = [&, start = writer.bytes_copied()] { return writer.bytes_copied() - start; };
  writer.append(x.narrow(0, 0, 4096));  // aligned, whole blocks
  if (writer.direct()) CHECK(copied_since() == 0);
  writer.append(x.narrow(0, 4096, 3));  // 12000 bytes: 2 blocks direct, 3808 bytes left in the stage
  if (writer.direct()) CHECK(copied_since() == 3808);
  writer.append(shifted.narrow(0, 4099, 2900));  // 11.6 MB, more than the 8 MiB stage: all copied
  if (writer.direct()) CHECK(copied_since() == 3808 + 11'600'000);
  writer.append(x.narrow(0, 6999, 2));  // 8000 bytes: to the block boundary, 1 block direct, the rest staged
  if (writer.direct()) CHECK(copied_since() == 3808 + 11'600'000 + 8000 - 4096);
  writer.commit();  // the last partial block is padded, then the file cut back
  CHECK(fs::file_size(dir / "x.npy") == static_cast<uintmax_t>(n * d * 4 + (writer.direct() ? 4096 : 128)));
  CHECK(at::equal(read_npy(dir / "x.npy"), x));

  // BRIDGES_DIRECT_IO=0: through the page cache, with NumPy's header.
  ::setenv("BRIDGES_DIRECT_IO", "0", 1);
  {
    NpyWriter buffered(dir / "y.npy", at::kFloat, {n, d});
    CHECK_FALSE(buffered.direct());
    buffered.append(x.narrow(0, 0, 4099));
    buffered.append(shifted.narrow(0, 4099, 2902));
    CHECK(buffered.bytes_copied() == 0);
    buffered.commit();
  }
  ::unsetenv("BRIDGES_DIRECT_IO");
  CHECK(fs::file_size(dir / "y.npy") == static_cast<uintmax_t>(n * d * 4 + 128));
  CHECK(at::equal(read_npy(dir / "y.npy"), x));
}

TEST_CASE("a writer whose write failed refuses more rows and leaves no file") {
  TempDir dir;
  const Tensor x = testing::randn({4096, 64}, 6);  // 1 MiB
  {
    NpyWriter writer(dir / "x.npy", at::kFloat, {3 * 4096, 64});
    {
      const testing::FileSizeLimit full_disk(1 << 20);  // the header and the first MiB do not fit
      CHECK_THROWS_WITH_ALL(writer.append(x), IoError, "x.npy", "writing failed (disk full?)");
    }
    CHECK_THROWS_WITH_ALL(writer.append(x), IoError, "x.npy", "an earlier write failed");
    CHECK_THROWS_WITH_ALL(writer.commit(), IoError, "x.npy", "nothing was saved");
  }
  CHECK(testing::list_folder(dir.path()).empty());
}

TEST_CASE("an incremental .npy writer appears complete on commit or not at all") {
  TempDir dir;
  const Tensor x = testing::randn({10, 3, 2}, 2);
  bool direct = false;
  {
    NpyWriter writer(dir / "sub" / "x.npy", at::kFloat, {10, 3, 2});
    writer.append(x.narrow(0, 0, 4));
    writer.append(x.narrow(0, 4, 0));
    writer.append(x.narrow(0, 4, 6));
    CHECK(writer.rows_written() == 10);
    CHECK_FALSE(fs::exists(dir / "sub" / "x.npy"));  // only the temporary file so far
    direct = writer.direct();
    writer.commit();
  }
  CHECK(at::equal(read_npy(dir / "sub" / "x.npy"), x));
  CHECK(testing::list_folder(dir / "sub") == std::vector<std::string>{"x.npy"});
  // The same header and data as write_npy, the header padded to a whole
  // block when written directly (so that the data starts aligned).
  write_npy(dir / "whole.npy", x);
  const std::string whole = testing::read_file(dir / "whole.npy"), streamed = testing::read_file(dir / "sub" / "x.npy");
  const auto header = [](const std::string& file) {
    const std::size_t length = static_cast<unsigned char>(file[8]) + 256 * static_cast<unsigned char>(file[9]);
    return std::pair{file.substr(0, 8), file.substr(10, length)};
  };
  const auto [whole_start, whole_dict] = header(whole);
  const auto [streamed_start, streamed_dict] = header(streamed);
  CHECK(streamed_start == whole_start);
  CHECK(streamed_dict.back() == '\n');
  const auto dict = [](std::string h) { return h.erase(h.find_last_not_of(" \n") + 1); };
  CHECK(dict(streamed_dict) == dict(whole_dict));
  const std::size_t data_offset = 10 + streamed_dict.size();
  CHECK(data_offset == (direct ? NpyWriter::kAlignment : 128));
  CHECK(streamed.substr(data_offset) == whole.substr(10 + whole_dict.size()));

  {
    NpyWriter writer(dir / "y.npy", at::kFloat, {10, 3, 2});
    writer.append(x.narrow(0, 0, 4));
    CHECK_THROWS_WITH_ALL(writer.append(x.narrow(0, 0, 7)), ShapeError, "y.npy", "exceed the 10 declared", "4 written");
    CHECK_THROWS_WITH_ALL(writer.append(x.to(at::kDouble)), ShapeError, "appended rows must be float32 [m, 3, 2]",
                          "float64 [10, 3, 2]");
    CHECK_THROWS_WITH_ALL(writer.append(testing::randn({2, 2, 3}, 0)), ShapeError, "float32 [2, 2, 3]");
    CHECK_THROWS_WITH_ALL(writer.commit(), ShapeError, "only 4 of the 10 declared rows", "nothing was saved");
  }  // destroyed without commit
  CHECK(testing::list_folder(dir.path()) == std::vector<std::string>{"sub", "whole.npy"});
  CHECK_THROWS_WITH_ALL(NpyWriter(dir / "h.npy", at::kHalf, {2}), ShapeError, "h.npy", "cannot save");
  CHECK_THROWS_WITH_ALL(NpyWriter("/proc/bridges-cannot-write/x.npy", at::kFloat, {2}), IoError,
                        "/proc/bridges-cannot-write");
}
