using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using CsCheck;
using OcpTalkdesk.Gateway.Validation;

namespace OcpTalkdesk.Gateway.Tests.Validation;

/// <summary>
/// The fast path against JsonSchema.Net on generated schemas inside the keyword subset it claims
/// (type, properties, required, additionalProperties, items, annotations) and instances near them:
/// whenever the fast path says "valid", JsonSchema.Net must agree, so the gateway's composed verdict
/// (fast path, else JsonSchema.Net) is JsonSchema.Net's every time.
/// </summary>
public sealed class FastPathDifferentialTests
{
    private static readonly string[] Names = ["a", "b", "c", "items", "a/b"];
    private static readonly string[] TypeNames = ["object", "array", "string", "number", "integer", "boolean", "null"];

    private static readonly JsonNode?[] Leaves =
    [
        JsonValue.Create(0), JsonValue.Create(-7), JsonValue.Create(1.0), JsonValue.Create(2.5), JsonValue.Create(1e20),
        JsonValue.Create(12345678901234567890m), JsonValue.Create("text"), JsonValue.Create(""), JsonValue.Create(true),
        JsonValue.Create(false), null, JsonNode.Parse("1E2")!, JsonNode.Parse("-0")!,
    ];

    /// <summary>A schema of the subset, up to three levels deep.</summary>
    private static Gen<JsonObject> SchemaGen(int depth) =>
        Gen.Select(Gen.Int[0, 9], Gen.Int[0, 6], Gen.Int[0, 2], Gen.Int[0, 31], Gen.Int[0, 31], Gen.Int[0, 3], Gen.Int[0, 3])
            .SelectMany(t =>
            {
                var (typeChoice, second, additional, declaredMask, requiredMask, itemsChoice, annotation) = t;
                var children = depth == 0 ? Gen.Const(Array.Empty<JsonObject>()) : SchemaGen(depth - 1).Array[6];
                return children.Select(c => Build(typeChoice, second, additional, declaredMask, requiredMask, itemsChoice, annotation, c));
            });

    private static JsonObject Build(int typeChoice, int second, int additional, int declaredMask, int requiredMask,
        int itemsChoice, int annotation, JsonObject[] children)
    {
        var schema = new JsonObject();
        if (typeChoice < 7)
        {
            schema["type"] = TypeNames[typeChoice];
        }
        else if (typeChoice == 7)
        {
            schema["type"] = new JsonArray(TypeNames[second], TypeNames[(second + 3) % 7]);
        }

        if (children.Length > 0)
        {
            var properties = new JsonObject();
            var required = new JsonArray();
            for (var i = 0; i < Names.Length; i++)
            {
                if ((declaredMask & (1 << i)) != 0)
                {
                    properties[Names[i]] = children[i].DeepClone();
                    if ((requiredMask & (1 << i)) != 0)
                    {
                        required.Add(Names[i]);
                    }
                }
            }

            if (properties.Count > 0)
            {
                schema["properties"] = properties;
            }

            if (required.Count > 0)
            {
                schema["required"] = required;
            }

            if (itemsChoice > 0)
            {
                schema["items"] = children[5].DeepClone();
            }
        }

        if (additional > 0)
        {
            schema["additionalProperties"] = additional == 1;
        }

        if (annotation == 1)
        {
            schema["title"] = "t";
        }
        else if (annotation == 2)
        {
            schema["description"] = "d";
        }

        return schema;
    }

    /// <summary>An instance shaped by the schema, with random damage: wrong types, missing and extra members.</summary>
    private static JsonNode? Near(JsonObject schema, Random random, int depth)
    {
        var kind = random.Next(10);
        if (kind < 2 || depth > 4)
        {
            return Leaves[random.Next(Leaves.Length)]?.DeepClone();
        }

        var type = schema["type"] switch
        {
            JsonValue v => v.GetValue<string>(),
            JsonArray a => a[random.Next(a.Count)]!.GetValue<string>(),
            _ => TypeNames[random.Next(TypeNames.Length)],
        };
        switch (type)
        {
            case "object":
                var result = new JsonObject();
                if (schema["properties"] is JsonObject properties)
                {
                    foreach (var (name, child) in properties)
                    {
                        if (random.Next(5) > 0)
                        {
                            result[name] = Near((JsonObject)child!, random, depth + 1);
                        }
                    }
                }

                if (random.Next(4) == 0)
                {
                    result["extra" + random.Next(2)] = Leaves[random.Next(Leaves.Length)]?.DeepClone();
                }

                return result;
            case "array":
                var array = new JsonArray();
                var count = random.Next(4);
                for (var i = 0; i < count; i++)
                {
                    array.Add(schema["items"] is JsonObject items ? Near(items, random, depth + 1) : Leaves[random.Next(Leaves.Length)]?.DeepClone());
                }

                return array;
            case "string":
                return random.Next(2) == 0 ? "s" : "ü\u00e9\"\\";
            case "integer":
                return random.Next(3) switch { 0 => JsonValue.Create(3), 1 => JsonNode.Parse("4.0"), _ => JsonValue.Create(long.MaxValue) };
            case "number":
                return random.Next(2) == 0 ? JsonValue.Create(0.5) : JsonValue.Create(9);
            case "boolean":
                return JsonValue.Create(random.Next(2) == 0);
            default:
                return null;
        }
    }

    [Fact]
    public void The_fast_path_agrees_with_JsonSchema_Net_on_generated_schemas_and_instances()
    {
        var cases = 0;
        var fastAccepted = 0;
        var libraryValid = 0;
        Gen.Select(SchemaGen(3), Gen.Int).Sample((schemaNode, seed) =>
        {
            var schemaText = schemaNode.ToJsonString();
            var schema = SchemaLoader.Parse(Encoding.UTF8.GetBytes(schemaText), new Uri("file:///generated.schema.json"), "generated", out var fastPath);
            Assert.NotNull(fastPath);
            var random = new Random(seed);
            for (var i = 0; i < 5; i++)
            {
                var instance = Near(schemaNode, random, 0);
                var bytes = Encoding.UTF8.GetBytes(instance?.ToJsonString() ?? "null");
                using var document = JsonDocument.Parse(bytes);
                var library = schema.Evaluate(document.RootElement).IsValid;
                var fast = FastPathValidator.IsCertainlyValid(bytes, fastPath);
                Assert.True(!fast || library, $"fast path accepted what JsonSchema.Net rejects: schema {schemaText}, instance {Encoding.UTF8.GetString(bytes)}");
                // The validator the gateway uses gives JsonSchema.Net's verdict, whichever path decides.
                Assert.Equal(library, EventValidator.ValidateDocument(bytes, schema).IsValid);
                cases++;
                fastAccepted += fast ? 1 : 0;
                libraryValid += library ? 1 : 0;
            }
        }, iter: 2000);

        // The property was exercised on both sides, and the fast path did decide a real share.
        Assert.True(cases >= 9000 && libraryValid > cases / 20 && cases - libraryValid > cases / 20 && fastAccepted > libraryValid / 4,
            $"cases {cases}, JsonSchema.Net valid {libraryValid}, fast path accepted {fastAccepted}");
    }

    [Theory]
    [InlineData("\"$ref\":\"#/definitions/x\",\"definitions\":{\"x\":{}}")]
    [InlineData("\"enum\":[1]")]
    [InlineData("\"const\":1")]
    [InlineData("\"multipleOf\":2")]
    [InlineData("\"maximum\":1")]
    [InlineData("\"exclusiveMaximum\":1")]
    [InlineData("\"minimum\":1")]
    [InlineData("\"exclusiveMinimum\":1")]
    [InlineData("\"maxLength\":1")]
    [InlineData("\"minLength\":1")]
    [InlineData("\"pattern\":\"x\"")]
    [InlineData("\"additionalItems\":false")]
    [InlineData("\"maxItems\":1")]
    [InlineData("\"minItems\":1")]
    [InlineData("\"uniqueItems\":true")]
    [InlineData("\"contains\":{}")]
    [InlineData("\"maxProperties\":1")]
    [InlineData("\"minProperties\":1")]
    [InlineData("\"patternProperties\":{}")]
    [InlineData("\"dependencies\":{}")]
    [InlineData("\"propertyNames\":{}")]
    [InlineData("\"if\":{},\"then\":{}")]
    [InlineData("\"allOf\":[{}]")]
    [InlineData("\"anyOf\":[{}]")]
    [InlineData("\"oneOf\":[{}]")]
    [InlineData("\"not\":{}")]
    [InlineData("\"format\":\"email\"")]
    [InlineData("\"additionalProperties\":{\"type\":\"string\"}")]
    [InlineData("\"items\":[{}]")]
    [InlineData("\"readOnly\":true")]
    [InlineData("\"unknownKeyword\":1")]
    public void A_keyword_outside_the_subset_anywhere_makes_the_fast_path_decline_the_schema(string keyword)
    {
        using var nested = JsonDocument.Parse("{\"type\":\"object\",\"properties\":{\"a\":{" + keyword + "}}}");
        using var top = JsonDocument.Parse("{" + keyword + "}");

        Assert.Null(SchemaNode.TryCompile(nested.RootElement));
        Assert.Null(SchemaNode.TryCompile(top.RootElement));
    }

    [Fact]
    public void Boolean_subschemas_are_declined()
    {
        using var schema = JsonDocument.Parse("""{"type":"object","properties":{"internal":false}}""");

        Assert.Null(SchemaNode.TryCompile(schema.RootElement));
    }
}
