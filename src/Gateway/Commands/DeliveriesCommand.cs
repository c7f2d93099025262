using System.Text.Json;
using OcpTalkdesk.Gateway.Delivery;

namespace OcpTalkdesk.Gateway.Commands;

/// <summary>
/// <c>deliveries list [--state S] [--limit N]</c>, <c>deliveries replay ID|--all</c>, <c>deliveries discard ID</c>:
/// the admin API's operations against the configured store, for an operator with a shell. A running
/// gateway picks up replayed events at its next poll.
/// </summary>
internal static class DeliveriesCommand
{
    public static async Task<int> RunAsync(GatewayCommand command, WebApplicationBuilder builder, TextWriter output, TextWriter error)
    {
        if (command.UsageError is { } usage)
        {
            await error.WriteLineAsync("deliveries: " + usage + " See --help.");
            return 2;
        }

        if (!DeliveryExtensions.IsStoreAndForward(builder.Configuration))
        {
            await error.WriteLineAsync("deliveries: store-and-forward is not enabled (set Gateway:Delivery:Mode=StoreAndForward); there is no store to operate.");
            return 2;
        }

        // The command builds the store, not the proxy: the redelivery worker is registered but never started
        // here, so Development's build-time check of every registration (which wants YARP's forwarder for
        // it) is left off.
        builder.Host.UseDefaultServiceProvider(o => o.ValidateOnBuild = false);
        // Standard output is the command's answer (JSON lines a script reads); log lines, the audit line among
        // them, go to standard error.
        builder.Logging.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        await using var app = builder.Build();
        try
        {
            return await RunAsync(command, app.Services, output, error);
        }
        catch (Exception ex) when (StoreAndForwardMiddleware.IsStoreFailure(ex))
        {
            await error.WriteLineAsync($"deliveries: the store (ConnectionStrings:{DeliveryOptions.ConnectionStringName}) failed: {ex.Message}");
            return 2;
        }
    }

    private static async Task<int> RunAsync(GatewayCommand command, IServiceProvider services, TextWriter output, TextWriter error)
    {
        var audit = services.GetRequiredService<ILoggerFactory>().CreateLogger("OcpTalkdesk.Gateway.Delivery.Audit");
        var admin = "shell:" + Environment.UserName;
        var exit = await RunActionAsync(command, services, output, error);
        var target = command.Action switch
        {
            "list" => "state=" + command.State,
            "erase" => "conversation " + command.ConversationId,
            "rekey" => "every row",
            _ => command.DeliveryId is { } id ? "event " + id.ToString(System.Globalization.CultureInfo.InvariantCulture) : "every dead event",
        };
        DeliveryLog.AdminAction(audit, command.Action!, target, admin, "exit " + exit.ToString(System.Globalization.CultureInfo.InvariantCulture));
        return exit;
    }

    private static async Task<int> RunActionAsync(GatewayCommand command, IServiceProvider services, TextWriter output, TextWriter error)
    {
        var store = services.GetRequiredService<IDeliveryStore>();
        var now = services.GetRequiredService<TimeProvider>().GetUtcNow();
        await store.InitializeAsync(CancellationToken.None);
        switch (command.Action)
        {
            case "list":
                if (!DeliveryStates.IsKnown(command.State))
                {
                    await error.WriteLineAsync("deliveries: --state must be pending, leased, dead, stale, delivered, discarded or expired.");
                    return 2;
                }

                var events = await store.ListAsync(command.State, command.Limit, CancellationToken.None);
                foreach (var stored in events)
                {
                    await output.WriteLineAsync(JsonSerializer.Serialize(DeliveryView.Of(stored), DeliveryJsonContext.Default.DeliveryView));
                }

                return 0;
            case "erase":
                var erased = await store.EraseConversationAsync(command.ConversationId!, CancellationToken.None);
                await output.WriteLineAsync($"erased {erased} event(s) of conversation {command.ConversationId}");
                return 0;
            case "rekey":
                if (services.GetRequiredService<BodyProtector>().ActiveKeyId is not { } active)
                {
                    await error.WriteLineAsync("deliveries: rekey needs Gateway:Delivery:ActiveEncryptionKey.");
                    return 2;
                }

                var rewritten = await store.ReencryptAsync(plaintextOnly: false, CancellationToken.None);
                var left = await store.MissingKeysAsync(CancellationToken.None);
                await output.WriteLineAsync($"re-encrypted {rewritten} row(s) under key '{active}'"
                    + (left.Count == 0 ? "" : $"; {left.Values.Sum()} row(s) under missing keys ({string.Join(", ", left.Keys)}) left as they are"));
                return 0;
            case "replay":
                var replayed = await store.ReplayAsync(command.DeliveryId, now, CancellationToken.None);
                await output.WriteLineAsync($"replayed {replayed} event(s)");
                return command.DeliveryId is not null && replayed == 0 ? 1 : 0;
            default:
                var discarded = await store.DiscardAsync(command.DeliveryId!.Value, now, CancellationToken.None);
                await output.WriteLineAsync(discarded ? $"discarded event {command.DeliveryId}" : $"no pending or dead event {command.DeliveryId}");
                return discarded ? 0 : 1;
        }
    }
}
