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
        var group = app.MapGroup("/admin/deliveries").AddEndpointFilter(RequireAdminKeyAsync).RequireManagementPort(management);
        group.MapGet("/", ListAsync);
        group.MapPost("/replay", (IDeliveryStore store, RedeliveryWorker worker, TimeProvider time) => ReplayAsync(store, worker, time, null));
        group.MapPost("/{id:long}/replay", (long id, IDeliveryStore store, RedeliveryWorker worker, TimeProvider time) => ReplayAsync(store, worker, time, id));
        group.MapDelete("/{id:long}", DiscardAsync);
        return app;
    }

    private static async Task<IResult> ListAsync(IDeliveryStore store, string? state, int? limit)
    {
        state ??= DeliveryStates.Dead;
        if (!DeliveryStates.IsKnown(state))
        {
            return Results.Problem(statusCode: 400, type: ProblemTypes.BadRequest, title: "Unknown state",
                detail: "state must be pending, leased, dead, delivered or discarded.");
        }

        var events = await store.ListAsync(state, Math.Clamp(limit ?? 100, 1, 1000), CancellationToken.None);
        return Results.Json(events.Select(DeliveryView.Of).ToList(), DeliveryJsonContext.Default.ListDeliveryView);
    }

    private static async Task<IResult> ReplayAsync(IDeliveryStore store, RedeliveryWorker worker, TimeProvider time, long? id)
    {
        var count = await store.ReplayAsync(id, time.GetUtcNow(), CancellationToken.None);
        worker.Wake();
        return id is not null && count == 0
            ? Results.Problem(statusCode: 404, type: ProblemTypes.BadRequest, title: "No such dead event", detail: $"No dead-lettered event has id {id}.")
            : Results.Json(new DeliveryCountAnswer(count), DeliveryJsonContext.Default.DeliveryCountAnswer);
    }

    private static async Task<IResult> DiscardAsync(long id, IDeliveryStore store, TimeProvider time) =>
        await store.DiscardAsync(id, time.GetUtcNow(), CancellationToken.None)
            ? Results.NoContent()
            : Results.Problem(statusCode: 404, type: ProblemTypes.BadRequest, title: "No such held event", detail: $"No pending or dead event has id {id}.");

    private static async ValueTask<object?> RequireAdminKeyAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        var keys = http.RequestServices.GetRequiredService<IOptionsMonitor<DeliveryOptions>>().CurrentValue.AdminApiKeys;
        if (keys.Count == 0)
        {
            return Results.Problem(statusCode: 403, type: ProblemTypes.Forbidden, title: "Admin API disabled",
                detail: "Set Gateway:Delivery:AdminApiKeys:0 (at least 16 characters) to use the delivery admin API.");
        }

        var given = http.Request.Headers[HeaderName].ToString();
        if (given.Length == 0 || !Matches(given, keys))
        {
            http.Response.Headers.WWWAuthenticate = "ApiKey header=\"" + HeaderName + "\"";
            return Results.Problem(statusCode: 401, type: ProblemTypes.Unauthenticated, title: "Admin key required",
                detail: $"Send one of the configured admin keys in the {HeaderName} header.");
        }

        return await next(context);
    }

    /// <summary>Constant-time: both sides hashed first, so neither the length nor the content leaks through timing.</summary>
    private static bool Matches(string given, List<string> keys)
    {
        var givenHash = SHA256.HashData(Encoding.UTF8.GetBytes(given));
        var match = false;
        foreach (var key in keys)
        {
            match |= CryptographicOperations.FixedTimeEquals(givenHash, SHA256.HashData(Encoding.UTF8.GetBytes(key)));
        }

        return match;
    }
}
