namespace OcpTalkdesk.Gateway.Validation;

/// <summary>
/// The <c>Gateway</c> configuration section: which Talkdesk event types the gateway accepts, the
/// schema each one is checked against, and the request-body limit.
/// </summary>
public sealed class ValidationOptions
{
    /// <summary>The configuration section these options bind from.</summary>
    public const string SectionName = "Gateway";

    /// <summary>The default <see cref="MaxEventBytes"/>: 256 KiB.</summary>
    public const int DefaultMaxEventBytes = 256 * 1024;

    /// <summary>
    /// The largest event body accepted, in bytes. Larger bodies get 413 without being buffered.
    /// Default 262144 (256 KiB); allowed 1 KiB to 64 MiB.
    /// </summary>
    public int MaxEventBytes { get; set; } = DefaultMaxEventBytes;

    /// <summary>
    /// The folder that relative <see cref="EventTypeOptions.Schema"/> paths resolve against; itself
    /// relative to the application's base directory unless absolute. Default <c>schemas</c>, where
    /// the build copies the shipped schemas.
    /// </summary>
    public string SchemaDirectory { get; set; } = "schemas";

    /// <summary>
    /// The accepted event types, keyed by the exact value of the body's <c>event_type</c>.
    /// Adding an event type is a configuration change plus a schema file.
    /// </summary>
    public Dictionary<string, EventTypeOptions> EventTypes { get; } = new(StringComparer.Ordinal);

    /// <summary>Resolves an event type's schema path the way the gateway loads it.</summary>
    public string ResolveSchemaPath(string schema) =>
        Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, SchemaDirectory, schema));
}
