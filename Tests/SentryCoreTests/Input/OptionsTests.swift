import XCTest
@testable import SentryCore

final class OptionsTests: XCTestCase {
    let noEnv: (String) -> String? = { _ in nil }

    func testEveryOldPluginKeyIsAccepted() {
        let text = "dsn=http://k@h/1,level=info,logger=l,message=m,platform=python,culprit=c,server_name=s,"
            + "release=r,exception_type=T,exception_value=V,no_verify,debug,tags=a:1,extra=b:2,timeout=1.5"
        let (o, problems) = Options.parse(text, environment: noEnv)
        XCTAssertEqual(problems, [])
        XCTAssertEqual(o.dsn, "http://k@h/1"); XCTAssertEqual(o.level, "info"); XCTAssertEqual(o.logger, "l")
        XCTAssertEqual(o.message, "m"); XCTAssertEqual(o.platform, "python"); XCTAssertEqual(o.culprit, "c")
        XCTAssertEqual(o.serverName, "s"); XCTAssertEqual(o.release, "r")
        XCTAssertEqual(o.exceptionType, "T"); XCTAssertEqual(o.exceptionValue, "V")
        XCTAssertTrue(o.noVerify); XCTAssertTrue(o.debug); XCTAssertEqual(o.timeout, 1.5)
        XCTAssertEqual(o.tags.map(\.name), ["a"]); XCTAssertEqual(o.extra.map(\.value), ["2"])
    }

    func testModernKeys() {
        let (o, problems) = Options.parse("environment=prod,dist=7,transaction=/x,fingerprint=a;b,"
            + "user=id:42;username:x;email:e@x,ca_file=/tmp/ca.pem", environment: noEnv)
        XCTAssertEqual(problems, [])
        XCTAssertEqual(o.environment, "prod"); XCTAssertEqual(o.dist, "7"); XCTAssertEqual(o.transaction, "/x")
        XCTAssertEqual(o.fingerprint, ["a", "b"]); XCTAssertEqual(o.caFile, "/tmp/ca.pem")
        XCTAssertEqual(o.user.map(\.name), ["id", "username", "email"])
    }

    func testFlagsTakeBooleans() {
        XCTAssertFalse(Options.parse("debug=0", environment: noEnv).0.debug)
        XCTAssertFalse(Options.parse("no_verify=false", environment: noEnv).0.noVerify)
        XCTAssertTrue(Options.parse("debug=yes", environment: noEnv).0.debug)
        let (o, problems) = Options.parse("debug=maybe", environment: noEnv)
        XCTAssertTrue(o.debug)
        XCTAssertEqual(problems.count, 1)
    }

    func testDuplicatesLastScalarWinsListsAccumulate() {
        let (o, _) = Options.parse("level=info,level=fatal,tags=a:1,tags=b:2", environment: noEnv)
        XCTAssertEqual(o.level, "fatal")
        XCTAssertEqual(o.tags.map(\.name), ["a", "b"])
    }

    func testEmptyValueMeansAbsent() {
        let (o, _) = Options.parse("level=,dsn=", environment: { $0 == "SENTRY_DSN" ? "http://e@h/2" : nil })
        XCTAssertNil(o.level)
        XCTAssertEqual(o.dsn, "http://e@h/2")
    }

    func testUnknownKeyNamesNearestKnownKey() {
        let (o, problems) = Options.parse("levle=info,mesage=x", environment: noEnv)
        XCTAssertNil(o.level)
        XCTAssertEqual(problems.map(\.text), ["unknown option 'levle', did you mean 'level'?",
                                              "unknown option 'mesage', did you mean 'message'?"])
    }

    func testEnvironmentDefaultsOnlyWhenAbsent() {
        let env: (String) -> String? = ["SENTRY_DSN": "http://a@h/1", "SENTRY_RELEASE": "9",
                                        "SENTRY_ENVIRONMENT": "stage"].__subscript
        let (o, _) = Options.parse("release=1", environment: env)
        XCTAssertEqual(o.dsn, "http://a@h/1"); XCTAssertEqual(o.release, "1"); XCTAssertEqual(o.environment, "stage")
    }

    func testBadTimeoutFallsBackToDefault() {
        for bad in ["abc", "-1", "0", "nan", "99999"] {
            let (o, problems) = Options.parse("timeout=\(bad)", environment: noEnv)
            XCTAssertEqual(o.timeout, Options.defaultTimeout, bad)
            XCTAssertEqual(problems.count, 1, bad)
        }
    }
}

extension Dictionary where Key == String, Value == String {
    func __subscript(_ k: String) -> String? { self[k] }
}
