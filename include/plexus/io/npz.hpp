// NumPy .npz archives: uncompressed zip files ("stored" entries, zip64
// where needed) of .npy members. The reader checks every record against the
// bytes present and each member's CRC-32; files are written atomically.
#pragma once

#include "npy.hpp"

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace plexus {

// ---- .npz: zip archives of .npy files ------------------------------------

// One member of an archive, as listed by its central directory.
struct NpzEntry {
  std::string name;          // the array's name: the file name without ".npy"
  std::string file_name;     // as stored in the zip
  std::uint16_t method = 0;  // 0 = stored; 8 = deflate (refused when read)
  std::uint16_t flags = 0;
  std::uint32_t crc = 0;
  std::uint64_t stored_size = 0;  // compressed size
  std::uint64_t size = 0;         // uncompressed size
  std::uint64_t local_offset = 0;
};

// One array to put in an archive: its name (".npy" is appended inside the
// zip) and its complete .npy bytes. Make them with npz_member().
struct NpzMember {
  std::string name;
  std::vector<std::uint8_t> npy;
};

template <typename T>
NpzMember npz_member(std::string name, const NpyArray<T>& a, NpyType type = npy_type_of_v<T>) {
  return {std::move(name), detail::encode_npy_as(a, type, "npz_member")};
}
template <typename Derived>
NpzMember npz_member(std::string name, const Eigen::MatrixBase<Derived>& m,
                     NpyType type = npy_type_of_v<typename Derived::Scalar>) {
  return {std::move(name), detail::encode_npy_as(matrix_to_npy(m), type, "npz_member")};
}

namespace detail {

inline constexpr std::uint32_t kZipLocalSig = 0x04034b50, kZipCentralSig = 0x02014b50, kZipEndSig = 0x06054b50,
                               kZip64EndSig = 0x06064b50, kZip64LocatorSig = 0x07064b50;

inline std::string npz_array_name(const std::string& file_name) {
  const std::string ext = ".npy";
  if (file_name.size() >= ext.size() && file_name.compare(file_name.size() - ext.size(), ext.size(), ext) == 0)
    return file_name.substr(0, file_name.size() - ext.size());
  return file_name;
}

// Reads the zip64 extended-information extra field for the members whose
// 32-bit values were 0xFFFFFFFF, in the order the zip specification fixes.
inline void read_zip64_extra(ByteReader& extra, NpzEntry& e, bool need_size, bool need_stored, bool need_offset) {
  while (extra.left() >= 4) {
    const auto id = extra.get<std::uint16_t>("an extra field id");
    const auto len = extra.get<std::uint16_t>("an extra field length");
    const std::uint8_t* body = extra.take(len, "an extra field");
    if (id != 0x0001) continue;
    ByteReader z(body, len, extra.prefix());
    if (need_size) e.size = z.u64("the zip64 uncompressed size");
    if (need_stored) e.stored_size = z.u64("the zip64 compressed size");
    if (need_offset) e.local_offset = z.u64("the zip64 local header offset");
    return;
  }
  if (need_size || need_stored || need_offset)
    extra.fail(concat("entry '", e.file_name.substr(0, 80), "' needs a zip64 extra field but has none"));
}

}  // namespace detail

// Lists the members of a zip archive held in memory, from its central
// directory (sizes in local headers are not trusted: NumPy writes
// placeholders there).
inline std::vector<NpzEntry> npz_entries(const std::uint8_t* bytes, std::size_t size, const std::string& where) {
  if (size < 22)
    throw io_error(detail::concat(where, ": not a .npz (zip) file: ", size,
                                  " bytes, too short for the end-of-central-directory record"));
  // The end record is the last 22 bytes plus a comment of up to 65535 bytes.
  std::size_t end = size;  // position of the end record; size means not found
  const std::size_t lowest = size - 22 > 65535 ? size - 22 - 65535 : 0;
  for (std::size_t pos = size - 22 + 1; pos-- > lowest;) {
    std::uint32_t sig;
    std::uint16_t comment;
    std::memcpy(&sig, bytes + pos, 4);
    std::memcpy(&comment, bytes + pos + 20, 2);
    if (sig == detail::kZipEndSig && pos + 22 + comment == size) {
      end = pos;
      break;
    }
  }
  if (end == size) throw io_error(detail::concat(where, ": not a .npz (zip) file: no end-of-central-directory record"));

  detail::ByteReader eocd(bytes + end, 22, where + ": bad zip end record: ", end);
  eocd.u32("the signature");
  const auto disk = eocd.get<std::uint16_t>("the disk number");
  const auto cd_disk = eocd.get<std::uint16_t>("the directory disk");
  eocd.get<std::uint16_t>("the entries on this disk");
  std::uint64_t total = eocd.get<std::uint16_t>("the entry count");
  std::uint64_t cd_size = eocd.u32("the directory size");
  std::uint64_t cd_offset = eocd.u32("the directory offset");
  if (disk != 0 || cd_disk != 0) throw io_error(detail::concat(where, ": multi-disk zip archives are not supported"));
  std::size_t directory_end = end;
  if (total == 0xFFFF || cd_size == 0xFFFFFFFFu || cd_offset == 0xFFFFFFFFu) {
    // Zip64: a locator just before the end record points at the zip64 end record.
    if (end < 20) throw io_error(detail::concat(where, ": bad zip64 archive: no room for the zip64 locator"));
    detail::ByteReader loc(bytes + end - 20, 20, where + ": bad zip64 locator: ", end - 20);
    if (loc.u32("the signature") != detail::kZip64LocatorSig)
      throw io_error(detail::concat(where, ": bad zip archive: the end record has zip64 markers but no zip64 locator"));
    loc.u32("the disk");
    const std::uint64_t at = loc.u64("the zip64 end record offset");
    if (at > end - 20 || end - 20 - at < 56)
      throw io_error(
          detail::concat(where, ": bad zip64 locator: the zip64 end record offset ", at, " is out of range"));
    detail::ByteReader z(bytes + at, static_cast<std::size_t>(end - 20 - at),
                         where + ": bad zip64 end record: ", static_cast<std::size_t>(at));
    if (z.u32("the signature") != detail::kZip64EndSig)
      throw io_error(detail::concat(where, ": bad zip64 end record: wrong signature at byte ", at));
    z.u64("the record size");
    z.get<std::uint16_t>("the version made by");
    z.get<std::uint16_t>("the version needed");
    if (z.u32("the disk number") != 0 || z.u32("the directory disk") != 0)
      throw io_error(detail::concat(where, ": multi-disk zip archives are not supported"));
    z.u64("the entries on this disk");
    total = z.u64("the entry count");
    cd_size = z.u64("the directory size");
    cd_offset = z.u64("the directory offset");
    directory_end = static_cast<std::size_t>(at);
  }
  if (cd_offset > directory_end || cd_size > directory_end - cd_offset)
    throw io_error(detail::concat(where, ": bad zip archive: the central directory (", cd_size, " bytes at byte ",
                                  cd_offset, ") lies outside the ", size, "-byte file"));
  detail::ByteReader cd(bytes + cd_offset, static_cast<std::size_t>(cd_size),
                        where + ": bad zip central directory: ", static_cast<std::size_t>(cd_offset));
  const std::size_t n = cd.count(total, 46, "the entry count");
  std::vector<NpzEntry> out;
  out.reserve(n);
  std::set<std::string> seen;
  for (std::size_t i = 0; i < n; ++i) {
    if (cd.u32("an entry signature") != detail::kZipCentralSig)
      cd.fail(detail::concat("entry ", i, " has a wrong signature"));
    NpzEntry e;
    cd.get<std::uint16_t>("the version made by");
    cd.get<std::uint16_t>("the version needed");
    e.flags = cd.get<std::uint16_t>("the flags");
    e.method = cd.get<std::uint16_t>("the method");
    cd.u32("the modification time");
    e.crc = cd.u32("the CRC-32");
    e.stored_size = cd.u32("the compressed size");
    e.size = cd.u32("the uncompressed size");
    const auto name_len = cd.get<std::uint16_t>("the name length");
    const auto extra_len = cd.get<std::uint16_t>("the extra length");
    const auto comment_len = cd.get<std::uint16_t>("the comment length");
    cd.get<std::uint16_t>("the start disk");
    cd.get<std::uint16_t>("the internal attributes");
    cd.u32("the external attributes");
    e.local_offset = cd.u32("the local header offset");
    const std::uint8_t* name = cd.take(name_len, "the entry name");
    e.file_name.assign(reinterpret_cast<const char*>(name), name_len);
    e.name = detail::npz_array_name(e.file_name);
    const std::size_t extra_at = cd.offset();
    detail::ByteReader extra(cd.take(extra_len, "the extra field"), extra_len, cd.prefix(), extra_at);
    detail::read_zip64_extra(extra, e, e.size == 0xFFFFFFFFu, e.stored_size == 0xFFFFFFFFu,
                             e.local_offset == 0xFFFFFFFFu);
    cd.take(comment_len, "the entry comment");
    if (!seen.insert(e.file_name).second)
      cd.fail(detail::concat("the archive lists '", e.file_name.substr(0, 80), "' twice"));
    out.push_back(std::move(e));
  }
  return out;
}

// The array stored in `entry` (one of npz_entries(bytes, size, ...)).
template <typename T = double>
NpyArray<T> decode_npz_entry(const std::uint8_t* bytes, std::size_t size, const NpzEntry& e, const std::string& where) {
  const std::string at = detail::concat(where, " entry '", e.file_name.substr(0, 200), "'");
  if (e.flags & 1u) throw io_error(at + ": encrypted zip entries are not supported");
  if (e.method != 0)
    throw io_error(detail::concat(at, " is compressed (zip method ", e.method, e.method == 8 ? ", deflate" : "",
                                  "); only uncompressed .npz files are supported (save with numpy.savez, not "
                                  "numpy.savez_compressed)"));
  if (e.stored_size != e.size)
    throw io_error(
        detail::concat(at, ": a stored entry with compressed size ", e.stored_size, " and uncompressed size ", e.size));
  if (e.local_offset > size || size - e.local_offset < 30)
    throw io_error(
        detail::concat(at, ": the local header at byte ", e.local_offset, " lies outside the ", size, "-byte file"));
  detail::ByteReader local(bytes + e.local_offset, static_cast<std::size_t>(size - e.local_offset),
                           at + ": bad local header: ", static_cast<std::size_t>(e.local_offset));
  if (local.u32("the signature") != detail::kZipLocalSig) local.fail("wrong signature");
  local.take(22, "the fixed fields");  // version, flags, method, time, date, CRC and sizes: the directory's count
  const auto name_len = local.get<std::uint16_t>("the name length");
  const auto extra_len = local.get<std::uint16_t>("the extra length");
  const std::uint8_t* name = local.take(name_len, "the entry name");
  if (std::string(reinterpret_cast<const char*>(name), name_len) != e.file_name)
    local.fail("the name differs from the central directory's");
  local.take(extra_len, "the extra field");
  if (e.size > local.left())
    throw io_error(detail::concat(at, ": truncated: the entry is ", e.size, " bytes but only ", local.left(),
                                  " bytes follow its header"));
  const std::uint8_t* data = local.here();
  const std::size_t n = static_cast<std::size_t>(e.size);
  const std::uint32_t crc = crc32(data, n);
  if (crc != e.crc)
    throw io_error(detail::concat(at, ": CRC-32 mismatch (stored ", std::hex, e.crc, ", computed ", crc, std::dec,
                                  "): the archive is damaged"));
  return decode_npy<T>(data, n, at);
}

// The array called `name` (with or without ".npy") in an archive in memory.
template <typename T = double>
NpyArray<T> decode_npz(const std::uint8_t* bytes, std::size_t size, const std::string& name, const std::string& where) {
  const auto entries = npz_entries(bytes, size, where);
  for (const auto& e : entries)
    if (e.name == name || e.file_name == name) return decode_npz_entry<T>(bytes, size, e, where);
  std::string names;
  for (std::size_t i = 0; i < entries.size() && i < 20; ++i) names += (i ? ", " : "") + entries[i].name;
  if (entries.size() > 20) names += ", ...";
  throw io_error(detail::concat(where, ": no array '", name,
                                "' in the archive (it holds: ", names.empty() ? std::string("nothing") : names, ")"));
}

// The members of a .npz file.
inline std::vector<NpzEntry> list_npz(const std::string& path, std::size_t max_bytes = kMaxNpyFileBytes) {
  const auto bytes = read_file(path, max_bytes);
  return npz_entries(bytes.data(), bytes.size(), "'" + path + "'");
}

// One array of a .npz file, by name (with or without ".npy").
template <typename T = double>
NpyArray<T> read_npz(const std::string& path, const std::string& name, std::size_t max_bytes = kMaxNpyFileBytes) {
  const auto bytes = read_file(path, max_bytes);
  return decode_npz<T>(bytes.data(), bytes.size(), name, "'" + path + "'");
}

// Every array of a .npz file, by name.
template <typename T = double>
std::map<std::string, NpyArray<T>> read_npz_all(const std::string& path, std::size_t max_bytes = kMaxNpyFileBytes) {
  const auto bytes = read_file(path, max_bytes);
  const std::string where = "'" + path + "'";
  std::map<std::string, NpyArray<T>> out;
  for (const auto& e : npz_entries(bytes.data(), bytes.size(), where))
    out[e.name] = decode_npz_entry<T>(bytes.data(), bytes.size(), e, where);
  return out;
}

namespace detail {

// encode_npz for the public function `who` (its messages start with it).
inline std::vector<std::uint8_t> encode_npz_as(const std::vector<NpzMember>& members, const char* who) {
  if (members.size() >= 0xFFFF) throw value_error(concat(who, ": ", members.size(), " members; at most 65534"));
  std::set<std::string> names;
  for (const auto& m : members) {
    if (m.name.empty()) throw value_error(concat(who, ": an array name is empty"));
    if (m.name.find('\0') != std::string::npos) throw value_error(concat(who, ": an array name contains a NUL byte"));
    if (m.name.size() + 4 > 0xFFFF) throw value_error(concat(who, ": an array name is longer than 65531 bytes"));
    if (!names.insert(m.name).second) throw value_error(concat(who, ": two arrays are called '", m.name, "'"));
  }
  constexpr std::uint64_t limit = 0xFFFFFFFFu;
  auto too_big = [who](std::uint64_t v, const std::string& what) {
    if (v >= limit) throw value_error(concat(who, ": ", what, " reaches 4 GiB; zip64 archives are not written"));
  };
  ByteWriter w;
  struct Placed {
    std::uint32_t crc, size, offset;
  };
  std::vector<Placed> placed;
  for (const auto& m : members) {
    const std::string file = m.name + ".npy";
    too_big(m.npy.size(), "array '" + m.name + "'");
    too_big(w.size(), "the archive");
    const Placed p{crc32(m.npy.data(), m.npy.size()), static_cast<std::uint32_t>(m.npy.size()),
                   static_cast<std::uint32_t>(w.size())};
    placed.push_back(p);
    w.put_u32(kZipLocalSig);
    w.put<std::uint16_t>(20);    // version needed: 2.0
    w.put<std::uint16_t>(0);     // flags
    w.put<std::uint16_t>(0);     // method: stored
    w.put<std::uint16_t>(0);     // time 00:00:00
    w.put<std::uint16_t>(0x21);  // date 1980-01-01: fixed, so equal arrays give equal files
    w.put_u32(p.crc);
    w.put_u32(p.size);
    w.put_u32(p.size);
    w.put<std::uint16_t>(static_cast<std::uint16_t>(file.size()));
    w.put<std::uint16_t>(0);
    w.put_raw(file.data(), file.size());
    w.put_raw(m.npy.data(), m.npy.size());
  }
  too_big(w.size(), "the archive");
  const std::uint64_t cd_offset = w.size();
  for (std::size_t i = 0; i < members.size(); ++i) {
    const std::string file = members[i].name + ".npy";
    const Placed& p = placed[i];
    w.put_u32(kZipCentralSig);
    w.put<std::uint16_t>(20);  // made by: MS-DOS attributes, zip 2.0
    w.put<std::uint16_t>(20);
    w.put<std::uint16_t>(0);
    w.put<std::uint16_t>(0);
    w.put<std::uint16_t>(0);
    w.put<std::uint16_t>(0x21);
    w.put_u32(p.crc);
    w.put_u32(p.size);
    w.put_u32(p.size);
    w.put<std::uint16_t>(static_cast<std::uint16_t>(file.size()));
    w.put<std::uint16_t>(0);  // extra
    w.put<std::uint16_t>(0);  // comment
    w.put<std::uint16_t>(0);  // disk
    w.put<std::uint16_t>(0);  // internal attributes
    w.put_u32(0);             // external attributes
    w.put_u32(p.offset);
    w.put_raw(file.data(), file.size());
  }
  const std::uint64_t cd_size = w.size() - cd_offset;
  too_big(w.size(), "the archive");
  w.put_u32(kZipEndSig);
  w.put<std::uint16_t>(0);
  w.put<std::uint16_t>(0);
  w.put<std::uint16_t>(static_cast<std::uint16_t>(members.size()));
  w.put<std::uint16_t>(static_cast<std::uint16_t>(members.size()));
  w.put_u32(static_cast<std::uint32_t>(cd_size));
  w.put_u32(static_cast<std::uint32_t>(cd_offset));
  w.put<std::uint16_t>(0);
  return std::move(w.bytes());
}

}  // namespace detail

// A zip archive (stored entries, no compression) holding each member as
// "<name>.npy", which numpy.load reads as a dict of arrays. Archives over
// 4 GiB (zip64) are refused.
inline std::vector<std::uint8_t> encode_npz(const std::vector<NpzMember>& members) {
  return detail::encode_npz_as(members, "encode_npz");
}

// Writes a .npz file atomically, e.g.
//   write_npz("data.npz", {npz_member("x", x), npz_member("y", y)});
inline void write_npz(const std::string& path, const std::vector<NpzMember>& members) {
  write_file_atomic(path, detail::encode_npz_as(members, "write_npz"));
}

}  // namespace plexus
