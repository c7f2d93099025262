using Microsoft.Extensions.Options;


namespace OcpTalkdesk.Gateway.Validation;

/// <summary>
/// Checks the <c>Gateway</c> section at start-up and on reload; every message names the key to fix.
/// </summary>
internal sealed class ValidationOptionsValidator : IValidateOptions<ValidationOptions>
{
    internal const int MinEventBytes = 1024;
    internal const int MaxEventBytesLimit = 64 * 1024 * 1024;

    public ValidateOptionsResult Validate(string? name, ValidationOptions options)
    {
        var failures = new List<string>();
        const string Section = ValidationOptions.SectionName;

        if (options.MaxEventBytes is < MinEventBytes or > MaxEventBytesLimit)
        {
            failures.Add($"{Section}:MaxEventBytes must be between {MinEventBytes} and {MaxEventBytesLimit}; it is {options.MaxEventBytes}.");
        }

        if (string.IsNullOrWhiteSpace(options.SchemaDirectory))
        {
            failures.Add($"{Section}:SchemaDirectory must not be empty.");
        }

        if (options.EventTypes.Count == 0)
        {
            failures.Add($"{Section}:EventTypes must name at least one event type.");
        }

        foreach (var (eventType, settings) in options.EventTypes)
        {
            var key = $"{Section}:EventTypes:{eventType}";
            if (string.IsNullOrWhiteSpace(settings.Schema))
            {
                failures.Add($"{key}:Schema is required.");
            }
            else if (!string.IsNullOrWhiteSpace(options.SchemaDirectory))
            {
                var path = options.ResolveSchemaPath(settings.Schema);
                if (!File.Exists(path))
                {
                    failures.Add($"{key}:Schema: the schema file '{path}' does not exist.");
                }
                else
                {
                    try
                    {
                        // Loaded and checked against its meta-schema now, so a broken file stops start-up.
                        _ = SchemaLoader.Load(path, out _);
                    }
                    catch (SchemaLoadException ex)
                    {
                        failures.Add($"{key}:Schema: {ex.Message}");
                    }
                }
            }

            if (settings.UpstreamPath is { Length: > 0 } upstreamPath && upstreamPath[0] != '/')
            {
                failures.Add($"{key}:UpstreamPath must start with '/'; it is '{upstreamPath}'.");
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
