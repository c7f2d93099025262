using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace OcpTalkdesk.Gateway.Delivery;

/// <summary>
/// The admin API's OpenAPI document (ASP.NET Core's own generator), served on the management port at
/// <see cref="Path"/>: only the <c>/admin</c> endpoints, with the <c>X-Admin-Key</c> scheme they require.
/// The README's admin table is checked against it by a test.
/// </summary>
internal static class AdminApiDocument
{
    /// <summary>The document's name (and the endpoints' group name).</summary>
    public const string Name = "admin";

    /// <summary>Where it is served.</summary>
    public const string Path = "/openapi/admin.json";

    private const string Scheme = "AdminKey";

    public static void Configure(OpenApiOptions options)
    {
        options.ShouldInclude = description => description.GroupName == Name;
        options.AddDocumentTransformer((document, _, _) =>
        {
            document.Info = new OpenApiInfo
            {
                Title = "OCP® ⇄ Talkdesk gateway: delivery admin API",
                Version = "1",
                Description = "Held events of store-and-forward: list, replay, discard, erase a conversation. "
                    + "Management port only; every call needs an admin key and writes one audit line.",
            };
            document.Components ??= new OpenApiComponents();
            document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
            document.Components.SecuritySchemes[Scheme] = new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.ApiKey,
                In = ParameterLocation.Header,
                Name = DeliveryAdminEndpoints.HeaderName,
                Description = "One of Gateway:Delivery:AdminKeys:<name> or AdminApiKeys:N.",
            };
            document.Security = [new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(Scheme, document)] = [] }];
            return Task.CompletedTask;
        });
    }
}
