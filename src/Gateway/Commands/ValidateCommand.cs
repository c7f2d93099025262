using System.Text.Json;
using OcpTalkdesk.Gateway.Validation;

namespace OcpTalkdesk.Gateway.Commands;

/// <summary>
/// <c>validate</c>: one verdict per body, decided by <see cref="EventValidator"/> exactly as for HTTP.
/// Reads only the schema file, or the <c>Gateway:EventTypes</c> section, so it runs in any
/// environment without destinations, token clients or inbound methods configured.
/// </summary>
internal static class ValidateCommand
{
    public const int AllValid = 0;
    public const int SomeInvalid = 1;
    public const int Unusable = 2;

    public static async Task<int> RunAsync(GatewayCommand command, IConfiguration configuration, Stream stdin, TextWriter output, TextWriter error)
    {
        if (command.UsageError is { } usage)
        {
            await error.WriteLineAsync("validate: " + usage + " See --help.");
            return Unusable;
        }

        Func<ReadOnlyMemory<byte>, Verdict> decide;
        try
        {
            decide = command.SchemaFile is { } file ? ForSchemaFile(file) : ForEventType(command.EventType!, configuration);
        }
        catch (SchemaLoadException ex)
        {
            await error.WriteLineAsync("validate: " + ex.Message);
            return Unusable;
        }

        byte[] input;
        try
        {
            input = await ReadAllAsync(command.Input, stdin);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            await error.WriteLineAsync($"validate: cannot read '{command.Input}': {ex.Message}");
            return Unusable;
        }

        var result = AllValid;
        var lineNumber = 0;
        foreach (var body in command.JsonLines ? Lines(input) : [input])
        {
            lineNumber++;
            if (command.JsonLines && body.Span.Trim(" \t\r"u8).IsEmpty)
            {
                continue;
            }

            var verdict = decide(body);
            ValidationReport report;
            switch (verdict.Kind)
            {
                case VerdictKind.Valid:
                    report = new ValidationReport(true);
                    break;
                case VerdictKind.Malformed:
                    await error.WriteLineAsync(command.JsonLines ? $"validate: line {lineNumber}: {verdict.Detail}" : "validate: " + verdict.Detail);
                    report = new ValidationReport(false, [new SchemaViolation(string.Empty, "json", verdict.Detail!)]);
                    result = Unusable;
                    break;
                case VerdictKind.SchemaError:
                    await error.WriteLineAsync(command.JsonLines ? $"validate: line {lineNumber}: {verdict.Detail}" : "validate: " + verdict.Detail);
                    report = new ValidationReport(false, [new SchemaViolation(string.Empty, "$ref", verdict.Detail!)]);
                    result = Unusable;
                    break;
                case VerdictKind.UnknownEventType:
                    report = new ValidationReport(false, [new SchemaViolation("/event_type", "event_type", verdict.Detail!)]);
                    result = Math.Max(result, SomeInvalid);
                    break;
                default:
                    report = new ValidationReport(false, verdict.Violations, verdict.OmittedViolations);
                    result = Math.Max(result, SomeInvalid);
                    break;
            }

            await output.WriteLineAsync(JsonSerializer.Serialize(report, ValidationJsonContext.Relaxed.ValidationReport));
        }

        return result;
    }

    private static Func<ReadOnlyMemory<byte>, Verdict> ForSchemaFile(string file)
    {
        var schema = SchemaLoader.Load(Path.GetFullPath(file), out _);
        return body => EventValidator.ValidateDocument(body, schema);
    }

    private static Func<ReadOnlyMemory<byte>, Verdict> ForEventType(string eventType, IConfiguration configuration)
    {
        var options = new ValidationOptions();
        configuration.GetSection(ValidationOptions.SectionName).Bind(options);
        if (!options.EventTypes.TryGetValue(eventType, out var settings))
        {
            var known = string.Join(", ", options.EventTypes.Keys.Order(StringComparer.Ordinal));
            throw new SchemaLoadException($"the event type '{eventType}' is not configured (Gateway:EventTypes:{eventType}:Schema); configured: {known}.");
        }

        // Only this type's schema is loaded: a catalog of one, so the HTTP step's code decides.
        var only = new ValidationOptions { MaxEventBytes = options.MaxEventBytes, SchemaDirectory = options.SchemaDirectory };
        only.EventTypes[eventType] = settings;
        var catalog = SchemaRegistry.Compile(only);
        return body => EventValidator.ValidateEvent(body, catalog);
    }

    private static async Task<byte[]> ReadAllAsync(string input, Stream stdin)
    {
        if (input != "-")
        {
            return await File.ReadAllBytesAsync(input);
        }

        using var buffer = new MemoryStream();
        await stdin.CopyToAsync(buffer);
        return buffer.ToArray();
    }

    private static IEnumerable<ReadOnlyMemory<byte>> Lines(byte[] input)
    {
        var start = 0;
        for (var i = 0; i <= input.Length; i++)
        {
            if (i == input.Length || input[i] == (byte)'\n')
            {
                if (i > start || i < input.Length)
                {
                    yield return input.AsMemory(start, i - start);
                }

                start = i + 1;
            }
        }
    }
}
