using System.Text;
using System.Text.Json;
using BenchmarkDotNet.Attributes;
using OcpTalkdesk.Gateway.Validation;

namespace OcpTalkdesk.Gateway.Benchmarks;

/// <summary>
/// From the raw bytes of a ~400 B <c>message_created</c> event to a verdict (parse included), valid
/// and invalid: JsonSchema.Net alone (flag output, as the gateway asks first), and the gateway's
/// validator (fast path, JsonSchema.Net when unsure and to explain a rejection).
/// </summary>
[MemoryDiagnoser]
public class ValidatorBenchmarks
{
    private EventCatalog _catalog = null!;
    private EventSchema _schema = null!;
    private byte[] _valid = null!;
    private byte[] _invalid = null!;

    [Params("valid", "invalid")]
    public string Body { get; set; } = "valid";

    private byte[] Bytes => Body == "valid" ? _valid : _invalid;

    [GlobalSetup]
    public void Setup()
    {
        var options = new ValidationOptions();
        options.EventTypes["message_created"] = new EventTypeOptions { Schema = "message_created.schema.json" };
        _catalog = SchemaRegistry.Compile(options);
        _catalog.TryGet("message_created", out _schema);
        _valid = File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "samples", "message_created.json"));
        // Three violations: a wrong type, a missing member, an extra member.
        _invalid = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(_valid)
            .Replace("\"msg-0001\"", "1", StringComparison.Ordinal)
            .Replace("\"created_at\"", "\"made_at\"", StringComparison.Ordinal));
    }

    [Benchmark(Baseline = true, Description = "JsonSchema.Net 8.0.5 alone (JsonDocument, flag output)")]
    public bool JsonSchemaNetFlag()
    {
        using var document = JsonDocument.Parse(Bytes, StrictJson.Options);
        return _schema.Schema.Evaluate(document.RootElement, new Json.Schema.EvaluationOptions { OutputFormat = Json.Schema.OutputFormat.Flag }).IsValid;
    }

    [Benchmark(Description = "Gateway validator: fast path, JsonSchema.Net when unsure, violations listed")]
    public int GatewayValidator() => EventValidator.ValidateEvent(Bytes, _catalog).Violations.Count;

    [Benchmark(Description = "Gateway validator without the fast path (JsonSchema.Net decides and explains)")]
    public int WithoutFastPath() => EventValidator.ValidateDocument(Bytes, _schema.Schema).Violations.Count;
}
