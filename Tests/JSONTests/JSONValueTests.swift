import IOCore
import JSON
import Testing

@Suite("JSON values and objects")
struct JSONValueTests {
    @Test("accessors return the payload of the matching case and nil otherwise")
    func accessorsMatchCases() throws {
        let value = try JSONParser.parse("{\"s\":\"x\",\"i\":42,\"d\":2.5,\"b\":true,\"a\":[1,2],\"o\":{\"k\":null},\"n\":null}")
        #expect(value["s"]?.stringValue == "x")
        #expect(value["i"]?.intValue == 42)
        #expect(value["i"]?.doubleValue == 42)
        #expect(value["d"]?.doubleValue == 2.5)
        #expect(value["d"]?.intValue == nil)
        #expect(value["b"]?.boolValue == true)
        #expect(value["a"]?.arrayValue?.count == 2)
        #expect(value["a"]?[1]?.intValue == 2)
        #expect(value["o"]?.objectValue?.keys == ["k"])
        #expect(value["o"]?["k"]?.isNull == true)
        #expect(value["n"]?.isNull == true)
        #expect(value["missing"] == nil)
        #expect(value["s"]?.intValue == nil)
        #expect(value["i"]?.stringValue == nil)
        #expect(value["b"]?.intValue == nil)
        #expect(value[0] == nil)
        #expect(value["a"]?[2] == nil)
        #expect(value["a"]?[-1] == nil)
        #expect(value["a"]?["k"] == nil)
        #expect(JSONValue.binary(ByteBuffer(bytes: [1])).binaryValue?.readableBytes == 1)
    }

    @Test("literals build the expected values")
    func literalsBuildValues() throws {
        let value: JSONValue = ["name": "x", "n": 1, "f": 1.5, "ok": false, "none": nil, "list": [1, "two"]]
        #expect(try value.jsonString == "{\"name\":\"x\",\"n\":1,\"f\":1.5,\"ok\":false,\"none\":null,\"list\":[1,\"two\"]}")
        #expect(JSONValue(3) == 3)
        #expect(JSONValue("s") == "s")
        #expect(JSONValue(true) == true)
        #expect(JSONValue(0.5) == 0.5)
    }

    @Test("setting an existing key keeps its position; a new key is appended; nil removes")
    func objectSetKeepsPositionAppendsAndRemoves() throws {
        var object: JSONObject = ["a": 1, "b": 2, "c": 3]
        object["b"] = 20
        object["d"] = 4
        #expect(object.keys == ["a", "b", "c", "d"])
        #expect(object["b"] == 20)
        object["a"] = nil
        #expect(object.keys == ["b", "c", "d"])
        #expect(object.removeValue(forKey: "c") == 3)
        #expect(object.removeValue(forKey: "zz") == nil)
        #expect(object.updateValue(5, forKey: "b") == 20)
        #expect(object.count == 2)
        #expect(try JSONValue.object(object).jsonString == "{\"b\":5,\"d\":4}")
        #expect(object.contains(key: "d"))
        #expect(!object.contains(key: "a"))
    }

    @Test("object iteration yields members in order")
    func objectIterationIsOrdered() {
        let object: JSONObject = ["z": 1, "y": 2, "x": 3]
        #expect(object.map(\.key) == ["z", "y", "x"])
        #expect(object.values == [1, 2, 3])
        #expect(object[1].key == "y")
        #expect(!object.isEmpty)
    }

    @Test("a duplicate key in a literal keeps the first position and the last value")
    func duplicateKeyInLiteralFollowsJavaScript() {
        let object = JSONObject([("a", 1), ("b", 2), ("a", 3)])
        #expect(object.keys == ["a", "b"])
        #expect(object["a"] == 3)
    }

    @Test("object equality is order-sensitive")
    func objectEqualityIsOrderSensitive() {
        let ab: JSONObject = ["a": 1, "b": 2]
        let ba: JSONObject = ["b": 2, "a": 1]
        #expect(ab != ba)
        #expect(ab == ["a": 1, "b": 2])
        #expect(Set([JSONValue.object(ab), .object(ab), .object(ba)]).count == 2)
    }

    @Test("large objects stay consistent through the hash index")
    func largeObjectsStayConsistent() {
        var object = JSONObject()
        for index in 0..<200 {
            object["k\(index)"] = JSONValue(index)
        }
        #expect(object.count == 200)
        #expect(object["k150"] == 150)
        object["k150"] = "replaced"
        #expect(object[150].key == "k150")
        #expect(object["k150"] == "replaced")
        object["k10"] = nil
        #expect(object["k11"] == 11)
        #expect(object[10].key == "k11")
        #expect(object["k10"] == nil)
        object["k10"] = 10
        #expect(object.keys.last == "k10")
        for index in 0..<195 {
            object["k\(index)"] = nil
        }
        #expect(object.keys == ["k195", "k196", "k197", "k198", "k199"])
        #expect(object["k197"] == 197)
        object["k197"] = 0
        #expect(object.keys == ["k195", "k196", "k197", "k198", "k199"])
        // Equal to the same object built small.
        let small: JSONObject = ["k195": 195, "k196": 196, "k197": 0, "k198": 198, "k199": 199]
        #expect(object == small)
        #expect(object.hashValue == small.hashValue)
    }

    @Test("a parsed object with many duplicate keys keeps one member per key")
    func parsedObjectWithManyDuplicates() throws {
        var text = "{"
        for index in 0..<1_000 {
            text += "\"k\(index % 50)\":\(index),"
        }
        text += "\"end\":true}"
        let object = try #require(try JSONParser.parse(text).objectValue)
        #expect(object.count == 51)
        #expect(object.keys.first == "k0")
        #expect(object["k0"] == 950)
        #expect(object["k49"] == 999)
    }

    @Test("an object with 100 000 distinct keys parses in linear time")
    func hugeObjectParsesInLinearTime() throws {
        var buffer = ByteBuffer(string: "{")
        for index in 0..<100_000 {
            buffer.writeString(index == 0 ? "\"k\(index)\":0" : ",\"k\(index)\":0")
        }
        buffer.writeString("}")
        let clock = ContinuousClock()
        let start = clock.now
        let value = try JSONParser.parse(buffer)
        #expect(value.objectValue?.count == 100_000)
        // A quadratic duplicate check would take minutes; the index keeps it well under this bound.
        #expect(clock.now - start < .seconds(20))
    }

    @Test("equal documents hash equally")
    func equalDocumentsHashEqually() throws {
        let first = try JSONParser.parse("[{\"a\":[1,2.0,\"x\"]},null]")
        let second = try JSONParser.parse(" [ { \"a\" : [ 1 , 2.0 , \"x\" ] } , null ] ")
        #expect(first == second)
        #expect(first.hashValue == second.hashValue)
        #expect(first != (try JSONParser.parse("[{\"a\":[1,2,\"x\"]},null]")))
    }
}
