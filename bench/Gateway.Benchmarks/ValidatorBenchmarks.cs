using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using BenchmarkDotNet.Attributes;
using Json.Schema;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;
using OcpTalkdesk.Gateway.Validation;

namespace OcpTalkdesk.Gateway.Benchmarks;

/// <summary>
/// The two draft-07 validators served here, each from the raw bytes of a ~400 B
/// <c>message_created</c> event to a verdict (parse included), valid and invalid.
/// </summary>
[MemoryDiagnoser]
public class ValidatorBenchmarks
{
    private NJsonSchema.JsonSchema _njsonSchema = null!;
    private JsonSchema _jsonSchemaNet = null!;
    private EventSchema _gatewaySchema = null!;
    private EventCatalog _catalog = null!;
    private byte[] _valid = null!;
    private byte[] _invalid = null!;

    [Params("valid", "invalid")]
    public string Body { get; set; } = "valid";

    private byte[] Bytes => Body == "valid" ? _valid : _invalid;

    [GlobalSetup]
    public void Setup()
    {
        var schemaText = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "schemas", "message_created.schema.json"));
        _njsonSchema = NJsonSchema.JsonSchema.FromJsonAsync(schemaText).GetAwaiter().GetResult();
        _jsonSchemaNet = JsonSchema.FromText(schemaText);
        var options = new Configuration.GatewayOptions();
        options.EventTypes["message_created"] = new Configuration.EventTypeOptions { Schema = "message_created.schema.json" };
        _catalog = OcpTalkdesk.Gateway.Validation.SchemaRegistry.Compile(options);
        _catalog.TryGet("message_created", out _gatewaySchema);
        _valid = File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "samples", "message_created.json"));
        // Three violations: a wrong type, a missing member, an extra member.
        _invalid = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(_valid)
            .Replace("\"msg-0001\"", "1", StringComparison.Ordinal)
            .Replace("\"created_at\"", "\"made_at\"", StringComparison.Ordinal));
    }

    [Benchmark(Baseline = true, Description = "NJsonSchema 11.6.2 (Json.NET tree)")]
    public int NJsonSchemaValidator()
    {
        using var text = new StreamReader(new MemoryStream(Bytes), Encoding.UTF8);
        using var reader = new JsonTextReader(text) { DateParseHandling = DateParseHandling.None };
        var token = JToken.ReadFrom(reader);
        return _njsonSchema.Validate(token).Count;
    }

    [Benchmark(Description = "JsonSchema.Net 5.4.0 (JsonNode, list output)")]
    public int JsonSchemaNetValidator()
    {
        var node = JsonNode.Parse(Bytes);
        var results = _jsonSchemaNet.Evaluate(node, new EvaluationOptions { OutputFormat = OutputFormat.List });
        return results.IsValid ? 0 : results.Details.Count;
    }

    [Benchmark(Description = "Gateway step: scan + fast path, NJsonSchema when unsure")]
    public int GatewayStep()
    {
        using var body = BufferedBody.From(Bytes);
        if (EventScanner.Scan(body.Span, _catalog, out var candidate) is not null)
        {
            return -1;
        }

        if (candidate?.Compiled is { } compiled && FastPathValidator.IsCertainlyValid(body.Span, compiled))
        {
            return 0;
        }

        var json = EventParser.Parse(body, out _);
        return json is null ? -1 : _gatewaySchema.Validate(json).Count;
    }

    [Benchmark(Description = "System.Text.Json parse only (reference)")]
    public int ParseOnly()
    {
        using var document = JsonDocument.Parse(Bytes);
        return document.RootElement.GetPropertyCount();
    }
}
