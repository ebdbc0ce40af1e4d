// What says a file changed since it was read: its modification time and size, as
// the kernel gives them. Compared, never computed with: a time in nanoseconds as one
// Int overflows (and traps) for any file dated after 2262, which anyone can set.
import Glibc

struct FileStamp: Equatable {
    let seconds: Int
    let nanoseconds: Int
    let size: Int

    init(_ st: stat) {
        seconds = Int(st.st_mtim.tv_sec)
        nanoseconds = Int(st.st_mtim.tv_nsec)
        size = Int(st.st_size)
    }
}
