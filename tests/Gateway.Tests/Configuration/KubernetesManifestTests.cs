namespace OcpTalkdesk.Gateway.Tests.Configuration;

/// <summary>
/// The Kubernetes base carries its own copies of the schemas (kustomize reads only below its folder);
/// they must stay the shipped ones. (.ci/run renders the overlays and runs check-config on them.)
/// </summary>
public sealed class KubernetesManifestTests
{
    [Theory]
    [InlineData("conversation_started.schema.json")]
    [InlineData("message_created.schema.json")]
    [InlineData("conversation_ended.schema.json")]
    public async Task The_base_s_schema_copies_are_the_shipped_schemas(string file)
    {
        var shipped = await File.ReadAllBytesAsync(Path.Combine(AppContext.BaseDirectory, "schemas", file));
        var copy = await File.ReadAllBytesAsync(Path.Combine(AppContext.BaseDirectory, "kubernetes", "schemas", file));

        Assert.Equal(shipped, copy);
    }

    [Fact]
    public async Task The_base_s_appsettings_hold_no_secret()
    {
        var text = await File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "kubernetes", "appsettings.Production.json"));

        Assert.DoesNotContain("Secret", text, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("ApiKeys", text, StringComparison.Ordinal);
        Assert.DoesNotContain("Password", text, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("ConnectionStrings", text, StringComparison.Ordinal);
    }
}
