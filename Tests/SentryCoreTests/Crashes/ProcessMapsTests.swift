import XCTest
@testable import SentryCore

final class ProcessMapsTests: XCTestCase {
    let maps = """
        5579b9b51000-5579b9b7b000 r--p 00000000 fe:00 16238292                   /usr/bin/uwsgi-core
        5579b9b7b000-5579b9be1000 r-xp 0002a000 fe:00 16238292                   /usr/bin/uwsgi-core
        5579b9c26000-5579b9c31000 rw-p 000d5000 fe:00 16238292                   /usr/bin/uwsgi-core
        5579b9c31000-5579b9c34000 rw-p 00000000 00:00 0
        5579d79ba000-5579d7bb6000 rw-p 00000000 00:00 0                          [heap]
        7f37d2000000-7f37d2103000 r--p 00000000 fe:00 333619                     /usr/lib/x86_64-linux-gnu/libpython3.11.so.1.0
        7f37d2103000-7f37d23d4000 r-xp 00103000 fe:00 333619                     /usr/lib/x86_64-linux-gnu/libpython3.11.so.1.0
        7f37d3000000-7f37d3001000 r--p 00000000 00:05 1234                       /memfd:uwsgi-sentry-crash (deleted)
        7f37d4000000-7f37d4002000 r--p 00000000 fe:00 42                         /srv/app/my lib.so
        7ffe3bb75000-7ffe3bb96000 rw-p 00000000 00:00 0                          [stack]
        7f37d5000000-7f37d5001000 r--p 00000000 fe:00 7                          /usr/lib/cut-sho
        """

    func testOneObjectPerFileFromItsFirstMappingToItsLast() {
        let objects = ProcessMaps.objects(maps)
        XCTAssertEqual(objects.map(\.path), ["/usr/bin/uwsgi-core", "/usr/lib/x86_64-linux-gnu/libpython3.11.so.1.0", "/srv/app/my lib.so"],
                       "anonymous, [heap], deleted files and a line cut short by the frame's end are no objects")
        XCTAssertEqual(objects[0].start, 0x5579b9b51000)
        XCTAssertEqual(objects[0].end, 0x5579b9c31000)
        XCTAssertEqual(objects[0].inode, 16238292)
        XCTAssertEqual(objects[1].end, 0x7f37d23d4000)
    }

    func testGarbageIsNoObject() {
        XCTAssertEqual(ProcessMaps.objects("zz-yy r--p 0 0 0 /x\n1-0 r--p 0 0 0 /y\n\n  \n"), [])
        XCTAssertEqual(ProcessMaps.objects(""), [])
    }
}
