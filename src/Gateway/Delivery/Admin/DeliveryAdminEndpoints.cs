using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using OcpTalkdesk.Gateway.Configuration;
using OcpTalkdesk.Gateway.Problems;

namespace OcpTalkdesk.Gateway.Delivery;

/// <summary>
/// The operator's view of store-and-forward, on the management port only and only with an admin key
/// (<c>X-Admin-Key</c>, one of <c>Gateway:Delivery:AdminApiKeys</c>; refused when none is configured).
/// </summary>
public static class DeliveryAdminEndpoints
{
    /// <summary>The header carrying the admin key.</summary>
    public const string HeaderName = "X-Admin-Key";

    /// <summary>Maps <c>/admin/deliveries</c> when store-and-forward is on.</summary>
    public static WebApplication MapDeliveryAdmin(this WebApplication app)
    {
        if (!DeliveryExtensions.IsStoreAndForward(app.Configuration))
        {
            return app;
        }

        var management = app.Services.GetRequiredService<IOptions<ManagementOptions>>().Value;
        var admin = app.MapGroup("/admin").AddEndpointFilter(RequireAdminKeyAsync).RequireManagementPort(management)
            .WithGroupName(AdminApiDocument.Name).WithTags("deliveries")
            .ProducesProblem(StatusCodes.Status401Unauthorized).ProducesProblem(StatusCodes.Status403Forbidden);
        var group = admin.MapGroup("/deliveries");
        group.MapGet("/", ListAsync).WithName("list")
            .WithSummary("Held events in a state, oldest first, without bodies")
            .WithDescription("state: pending, leased, dead (default), stale, delivered, discarded or expired; limit: 1 to 1000 (default 100).")
            .Produces<List<DeliveryView>>().ProducesProblem(StatusCodes.Status400BadRequest);
        group.MapPost("/replay", (DeliveryOperations operations) => ReplayAsync(operations, null)).WithName("replay")
            .WithSummary("Every dead and stale event back to pending").Produces<DeliveryCountAnswer>();
        group.MapPost("/{id:long}/replay", (long id, DeliveryOperations operations) => ReplayAsync(operations, id)).WithName("replay-one")
            .WithSummary("A dead or stale event, and those after it in its conversation, back to pending")
            .Produces<DeliveryCountAnswer>().ProducesProblem(StatusCodes.Status404NotFound);
        group.MapDelete("/{id:long}", DiscardAsync).WithName("discard")
            .WithSummary("Discard one held event (its body is removed at once); the next of its conversation goes on")
            .Produces(StatusCodes.Status204NoContent).ProducesProblem(StatusCodes.Status404NotFound);
        admin.MapDelete("/conversations/{conversationId}", EraseAsync).WithName("erase")
            .WithSummary("Erase a conversation: every stored event of it in any state, and their keys")
            .Produces<DeliveryErasedAnswer>();
        app.MapOpenApi(AdminApiDocument.Path.Replace(AdminApiDocument.Name, "{documentName}", StringComparison.Ordinal)).RequireManagementPort(management);
        return app;
    }

    private static async Task<IResult> ListAsync(DeliveryOperations operations, string? state, int? limit)
    {
        state ??= DeliveryStates.Dead;
        if (!DeliveryStates.IsKnown(state))
        {
            return Results.Problem(statusCode: 400, type: ProblemTypes.BadRequest, title: "Unknown state",
                detail: "state must be pending, leased, dead, stale, delivered, discarded or expired.");
        }

        return Results.Json([.. await operations.ListAsync(state, limit ?? 100)], DeliveryJsonContext.Default.ListDeliveryView);
    }

    private static async Task<IResult> ReplayAsync(DeliveryOperations operations, long? id)
    {
        var count = await operations.ReplayAsync(id);
        return id is not null && count == 0
            ? Results.Problem(statusCode: 404, type: ProblemTypes.BadRequest, title: "No such dead event", detail: $"No dead-lettered event has id {id}.")
            : Results.Json(new DeliveryCountAnswer(count), DeliveryJsonContext.Default.DeliveryCountAnswer);
    }

    private static async Task<IResult> DiscardAsync(long id, DeliveryOperations operations) =>
        await operations.DiscardAsync(id)
            ? Results.NoContent()
            : Results.Problem(statusCode: 404, type: ProblemTypes.BadRequest, title: "No such held event", detail: $"No pending or dead event has id {id}.");

    private static async Task<IResult> EraseAsync(string conversationId, IDeliveryStore store) =>
        Results.Json(new DeliveryErasedAnswer(await store.EraseConversationAsync(conversationId, CancellationToken.None)), DeliveryJsonContext.Default.DeliveryErasedAnswer);

    private static async ValueTask<object?> RequireAdminKeyAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        var options = http.RequestServices.GetRequiredService<IOptionsMonitor<DeliveryOptions>>().CurrentValue;
        if (options.AdminApiKeys.Count == 0 && options.AdminKeys.Count == 0)
        {
            return Results.Problem(statusCode: 403, type: ProblemTypes.Forbidden, title: "Admin API disabled",
                detail: "Set Gateway:Delivery:AdminApiKeys:0 (at least 16 characters) to use the delivery admin API.");
        }

        var given = http.Request.Headers[HeaderName].ToString();
        var audit = http.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("OcpTalkdesk.Gateway.Delivery.Audit");
        var action = http.GetEndpoint()?.Metadata.GetMetadata<IEndpointNameMetadata>()?.EndpointName ?? "unknown";
        var target = Target(http);
        if ((given.Length == 0 ? null : AdminName(given, options)) is not { } admin)
        {
            DeliveryLog.AdminAction(audit, action, target, "nobody", "refused 401");
            http.Response.Headers.WWWAuthenticate = "ApiKey header=\"" + HeaderName + "\"";
            return Results.Problem(statusCode: 401, type: ProblemTypes.Unauthenticated, title: "Admin key required",
                detail: $"Send one of the configured admin keys in the {HeaderName} header.");
        }

        var result = await next(context);
        var status = result is IStatusCodeHttpResult { StatusCode: { } code } ? code : StatusCodes.Status200OK;
        DeliveryLog.AdminAction(audit, action, target, admin, status.ToString(System.Globalization.CultureInfo.InvariantCulture)
            + (result switch
            {
                IValueHttpResult { Value: DeliveryCountAnswer replayed } => $" ({replayed.Replayed} replayed)",
                IValueHttpResult { Value: DeliveryErasedAnswer erased } => $" ({erased.Erased} event(s) erased)",
                _ => string.Empty,
            }));
        return result;
    }

    /// <summary>What the call acts on, for the audit line: the event id, the conversation, or the listed state.</summary>
    private static string Target(HttpContext http) => http.Request.RouteValues switch
    {
        var values when values.TryGetValue("id", out var id) => "event " + id,
        var values when values.TryGetValue("conversationId", out var conversation) => "conversation " + conversation,
        _ when http.Request.Method == HttpMethods.Get => "state=" + (http.Request.Query["state"].ToString() is { Length: > 0 } state ? state : DeliveryStates.Dead),
        _ => "every dead event",
    };

    /// <summary>
    /// The name of the admin key given (<c>AdminKeys:&lt;name&gt;</c>, or <c>AdminApiKeys:N</c>), or null. Every key is
    /// compared, in constant time, whether or not an earlier one matched.
    /// </summary>
    internal static string? AdminName(string given, DeliveryOptions options)
    {
        string? name = null;
        for (var i = 0; i < options.AdminApiKeys.Count; i++)
        {
            if (Matches(given, options.AdminApiKeys[i]))
            {
                name ??= "AdminApiKeys:" + i.ToString(System.Globalization.CultureInfo.InvariantCulture);
            }
        }

        foreach (var (keyName, key) in options.AdminKeys)
        {
            if (Matches(given, key))
            {
                name ??= keyName;
            }
        }

        return name;
    }

    /// <summary>Constant-time: both sides hashed first, so neither the length nor the content leaks through timing.</summary>
    private static bool Matches(string given, string key) =>
        CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(given)), SHA256.HashData(Encoding.UTF8.GetBytes(key)));
}
