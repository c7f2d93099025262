using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using OcpTalkdesk.Gateway.Tests.Integration;

namespace OcpTalkdesk.Gateway.Tests.Delivery;

/// <summary>The admin API described: an OpenAPI document on the management port, and the README's admin table matching it.</summary>
public sealed partial class AdminApiDocumentTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("gateway-openapi-").FullName;

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_folder, recursive: true);
    }

    [GeneratedRegex(@"^\| `(?<method>GET|POST|DELETE|PUT|PATCH) (?<path>/admin[^`?]*)", RegexOptions.Multiline)]
    private static partial Regex AdminRow();

    private async Task<JsonDocument> DocumentAsync()
    {
        using var host = GatewayHost.Create(StoreAndForwardTests.Settings(_folder));
        var answer = await host.CreateAnonymousClient().GetAsync("/openapi/admin.json");
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        return JsonDocument.Parse(await answer.Content.ReadAsStringAsync());
    }

    private static HashSet<string> Operations(JsonDocument document) =>
        document.RootElement.GetProperty("paths").EnumerateObject()
            .SelectMany(path => path.Value.EnumerateObject().Select(operation => operation.Name.ToUpperInvariant() + " " + path.Name))
            .ToHashSet(StringComparer.Ordinal);

    [Fact]
    public async Task The_document_has_every_admin_operation_its_key_scheme_and_nothing_else()
    {
        using var document = await DocumentAsync();
        var root = document.RootElement;
        var scheme = root.GetProperty("components").GetProperty("securitySchemes").GetProperty("AdminKey");

        Assert.Equal(
            ["DELETE /admin/conversations/{conversationId}", "DELETE /admin/deliveries/{id}", "GET /admin/deliveries", "POST /admin/deliveries/replay", "POST /admin/deliveries/{id}/replay"],
            Operations(document).Order(StringComparer.Ordinal));
        Assert.Equal("apiKey", scheme.GetProperty("type").GetString());
        Assert.Equal("header", scheme.GetProperty("in").GetString());
        Assert.Equal("X-Admin-Key", scheme.GetProperty("name").GetString());
        var list = root.GetProperty("paths").GetProperty("/admin/deliveries").GetProperty("get");
        Assert.True(list.GetProperty("responses").TryGetProperty("200", out _));
        Assert.True(list.GetProperty("responses").TryGetProperty("401", out _));
        Assert.Contains(list.GetProperty("parameters").EnumerateArray(), p => p.GetProperty("name").GetString() == "state");
    }

    [Fact]
    public async Task The_readme_s_admin_table_lists_exactly_the_document_s_operations()
    {
        using var document = await DocumentAsync();
        var readme = await File.ReadAllTextAsync(Path.Combine(OcpTalkdesk.Gateway.Tests.Commands.ReadmeExamplesTests.RepositoryRoot(), "README.md"));

        var documented = AdminRow().Matches(readme).Select(m => m.Groups["method"].Value + " " + m.Groups["path"].Value.TrimEnd()).ToHashSet(StringComparer.Ordinal);

        Assert.Equal(Operations(document).Order(StringComparer.Ordinal), documented.Order(StringComparer.Ordinal));
    }
}
