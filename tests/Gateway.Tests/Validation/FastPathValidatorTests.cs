using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using CsCheck;
using OcpTalkdesk.Gateway.Tests.Integration;
using OcpTalkdesk.Gateway.Validation;

namespace OcpTalkdesk.Gateway.Tests.Validation;

public sealed class FastPathValidatorTests
{
    internal static readonly EventCatalog Catalog = SchemaRegistry.Compile(ShippedOptions());

    [Fact]
    public void The_shipped_schemas_compile_for_the_fast_path()
    {
        foreach (var eventType in Catalog.AcceptedEventTypes)
        {
            Assert.True(Catalog.TryGet(eventType, out var schema));
            Assert.NotNull(schema.FastPath);
        }
    }

    [Theory]
    [MemberData(nameof(SampleNames))]
    public void Every_sample_takes_the_fast_path(string sample)
    {
        var (fast, slow) = Verdicts(Samples.Bytes(sample));

        Assert.True(fast);
        Assert.True(slow);
    }

    [Fact]
    public void A_schema_with_keywords_it_does_not_implement_is_left_to_JsonSchema_Net()
    {
        using var pattern = JsonDocument.Parse("""{"type":"object","properties":{"a":{"type":"string","pattern":"^x"}}}""");
        using var reference = JsonDocument.Parse("""{"type":"object","properties":{"a":{"$ref":"#/definitions/x"}}}""");

        Assert.Null(SchemaNode.TryCompile(pattern.RootElement));
        Assert.Null(SchemaNode.TryCompile(reference.RootElement));
    }

    [Fact]
    public void The_fast_path_never_accepts_what_JsonSchema_Net_rejects()
    {
        var accepted = 0;
        var rejected = 0;
        Mutated.Sample(body =>
        {
            var (fast, slow) = Verdicts(body);
            if (fast)
            {
                accepted++;
            }
            else
            {
                rejected++;
            }

            Assert.True(!fast || slow, "fast path accepted: " + Encoding.UTF8.GetString(body));
        }, iter: 4000);

        // Both verdicts occurred, so the property was tested on both sides.
        Assert.True(accepted > 100 && rejected > 100, $"accepted {accepted}, rejected {rejected}");
    }

    public static TheoryData<string> SampleNames => [.. Samples.Names];

    /// <summary>Sample events with up to three random edits: the kind of damage a client or a proxy does.</summary>
    internal static readonly Gen<byte[]> Mutated =
        Gen.Select(Gen.Int[0, Samples.Names.Length - 1], Gen.Int[0, 3], Gen.Int.Array[6], (sample, edits, seeds) =>
        {
            var node = JsonNode.Parse(Samples.Bytes(Samples.Names[sample]))!;
            var text = node.ToJsonString();
            for (var i = 0; i < edits; i++)
            {
                text = Edit(text, seeds[i % seeds.Length] ^ (i * 7919));
            }

            return Encoding.UTF8.GetBytes(text);
        });

    private static string Edit(string json, int seed)
    {
        var random = new Random(seed);
        try
        {
            using var strict = JsonDocument.Parse(json, new JsonDocumentOptions { AllowDuplicateProperties = false });
        }
        catch (JsonException)
        {
            // Already holds a duplicate member, which JsonNode cannot represent: no further edits.
            return json;
        }

        var root = JsonNode.Parse(json)!;

        var containers = new List<JsonNode>();
        Collect(root, containers);
        var target = containers[random.Next(containers.Count)];
        JsonNode?[] replacements = [null, 42, 1.5, -0.0, 12345678901234567890.0, "text", true, new JsonObject(), new JsonArray(), JsonValue.Create(long.MaxValue)];
        switch (random.Next(7))
        {
            case 0 when target is JsonObject o && o.Count > 0:
                o.Remove(o.ElementAt(random.Next(o.Count)).Key);
                break;
            case 1 when target is JsonObject o && o.Count > 0:
                o[o.ElementAt(random.Next(o.Count)).Key] = replacements[random.Next(replacements.Length)]?.DeepClone();
                break;
            case 2 when target is JsonObject o:
                o["extra_" + random.Next(3)] = replacements[random.Next(replacements.Length)]?.DeepClone();
                break;
            case 3 when target is JsonArray a && a.Count > 0:
                a[random.Next(a.Count)] = replacements[random.Next(replacements.Length)]?.DeepClone();
                break;
            case 4 when target is JsonArray a:
                // The first item may itself be null (an earlier edit): a null is added then.
                a.Add(a.Count > 0 ? a[0]?.DeepClone() : JsonValue.Create(1));
                break;
            case 5 when target is JsonObject o && o.Count > 0:
                // A duplicate member, which JsonNode cannot hold: edit the text.
                var key = o.ElementAt(random.Next(o.Count)).Key;
                var encoded = JsonSerializer.Serialize(key);
                var at = json.IndexOf(encoded + ":", StringComparison.Ordinal);
                return at < 0 ? json : json.Insert(at, encoded + ":\"duplicate\",");
            case 6 when target is JsonObject o && o.Count > 0:
                var renamed = o.ElementAt(random.Next(o.Count)).Key;
                var value = o[renamed]?.DeepClone();
                o.Remove(renamed);
                o[renamed.ToUpperInvariant()] = value;
                break;
        }

        return root.ToJsonString();
    }

    private static void Collect(JsonNode node, List<JsonNode> into)
    {
        into.Add(node);
        if (node is JsonObject o)
        {
            foreach (var (_, child) in o)
            {
                if (child is JsonObject or JsonArray)
                {
                    Collect(child, into);
                }
            }
        }
        else if (node is JsonArray a)
        {
            foreach (var child in a)
            {
                if (child is JsonObject or JsonArray)
                {
                    Collect(child!, into);
                }
            }
        }
    }

    /// <summary>
    /// The fast path's verdict, and JsonSchema.Net's own (called directly, not through the gateway's
    /// validator): strict JSON, the schema named by <c>event_type</c>, its evaluation.
    /// </summary>
    internal static (bool Fast, bool Library) Verdicts(byte[] bytes)
    {
        var fast = EventScanner.Scan(bytes, Catalog, out var candidate) is null
            && candidate?.FastPath is { } compiled && FastPathValidator.IsCertainlyValid(bytes, compiled);
        try
        {
            using var document = JsonDocument.Parse(bytes, new JsonDocumentOptions { AllowDuplicateProperties = false, MaxDepth = 64 });
            var library = document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty("event_type", out var type) && type.ValueKind == JsonValueKind.String
                && Catalog.TryGet(type.GetString()!, out var schema) && schema.Schema.Evaluate(document.RootElement).IsValid;
            return (fast, library);
        }
        catch (JsonException)
        {
            return (fast, false);
        }
    }

    internal static ValidationOptions ShippedOptions()
    {
        var options = new ValidationOptions();
        foreach (var name in new[] { "conversation_started", "message_created", "conversation_ended" })
        {
            options.EventTypes[name] = new EventTypeOptions { Schema = name + ".schema.json" };
        }

        return options;
    }
}
