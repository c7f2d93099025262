namespace OcpTalkdesk.Gateway.Sandbox;

/// <summary>
/// The <c>Sandbox</c> section: stand-ins for OCP® served by the gateway itself, so a newcomer can
/// run the whole path on one machine without an OCP® or Talkdesk account. Development only.
/// </summary>
public sealed class SandboxOptions
{
    /// <summary>The configuration section these options bind from.</summary>
    public const string SectionName = "Sandbox";

    /// <summary>Serve the stand-ins under <see cref="BasePath"/>. Default false; refused outside Development.</summary>
    public bool Enabled { get; set; }

    /// <summary>Where the stand-ins are served. Default <c>/sandbox</c>.</summary>
    public string BasePath { get; set; } = "/sandbox";
}
