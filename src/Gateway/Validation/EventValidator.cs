using System.Globalization;
using System.Text.Json;
using Json.Schema;

namespace OcpTalkdesk.Gateway.Validation;

/// <summary>
/// The gateway's one validator: bytes (and the configured event types) in, a <see cref="Verdict"/>
/// out. The HTTP step, the <c>validate</c> command, the tests and the benchmarks all call it, so
/// they cannot disagree. JsonSchema.Net decides every verdict the fast path is not certain of and
/// writes every message.
/// </summary>
internal static class EventValidator
{
    private static readonly EvaluationOptions FlagOutput = new()
    {
        OutputFormat = OutputFormat.Flag,
        Culture = CultureInfo.InvariantCulture,
    };

    private static readonly EvaluationOptions HierarchicalOutput = new()
    {
        OutputFormat = OutputFormat.Hierarchical,
        Culture = CultureInfo.InvariantCulture,
    };

    /// <summary>
    /// Checks a Talkdesk event: one strict JSON object whose <c>event_type</c> names a configured
    /// type, matching that type's schema.
    /// </summary>
    public static Verdict ValidateEvent(ReadOnlyMemory<byte> utf8, EventCatalog catalog)
    {
        var syntaxError = EventScanner.Scan(utf8.Span, catalog, out var candidate);
        if (syntaxError is not null)
        {
            return Verdict.Malformed(syntaxError);
        }

        // The common case: a valid event, accepted in one pass over its bytes with no allocation.
        if (candidate?.FastPath is { } fastPath && FastPathValidator.IsCertainlyValid(utf8.Span, fastPath))
        {
            return Verdict.Valid(candidate);
        }

        using var document = StrictJson.TryParse(utf8, out var parseError);
        if (document is null)
        {
            return Verdict.Malformed(parseError!);
        }

        var root = document.RootElement;
        // The scan already matched event_type against the catalog; the document only explains a miss.
        if (candidate is not { } schema)
        {
            var detail = root.TryGetProperty("event_type", out var eventType) ? eventType.ValueKind switch
            {
                JsonValueKind.String => "The event's 'event_type' is not one this gateway accepts.",
                _ => "The event's 'event_type' must be a string.",
            } : "The event has no 'event_type'.";
            return Verdict.UnknownEventType(detail + " Accepted: " + string.Join(", ", catalog.AcceptedEventTypes) + ".");
        }

        return Evaluate(schema.Schema, root, schema);
    }

    /// <summary>Checks any JSON document against a schema (the <c>validate --schema</c> command).</summary>
    public static Verdict ValidateDocument(ReadOnlyMemory<byte> utf8, JsonSchema schema)
    {
        using var document = StrictJson.TryParse(utf8, out var parseError);
        return document is null ? Verdict.Malformed(parseError!) : Evaluate(schema, document.RootElement, null);
    }

    private static Verdict Evaluate(JsonSchema schema, JsonElement instance, EventSchema? eventSchema)
    {
        try
        {
            // Flag output is the cheapest; only a failing body is evaluated again to explain it.
            if (schema.Evaluate(instance, FlagOutput).IsValid)
            {
                return Verdict.Valid(eventSchema);
            }

            var violations = ViolationCollector.Collect(schema.Evaluate(instance, HierarchicalOutput), out var omitted);
            return new Verdict(VerdictKind.SchemaViolation, eventSchema, null, violations, omitted);
        }
        catch (Exception ex) when (ex is RefResolutionException or JsonSchemaException)
        {
            return new Verdict(VerdictKind.SchemaError, eventSchema, "The schema could not be evaluated: " + ex.Message, [], 0);
        }
    }
}
