using Microsoft.Extensions.Options;
using OcpTalkdesk.Gateway.Commands;

namespace OcpTalkdesk.Gateway.Delivery;

/// <summary>
/// Opens the store and creates or migrates its tables before the gateway listens: a store that cannot
/// be opened or written stops start-up with one line naming the key.
/// </summary>
internal sealed class DeliveryStoreStartup(IServiceProvider services, IOptions<DeliveryOptions> options, ILogger<DeliveryStoreStartup> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        try
        {
            await services.GetRequiredService<IDeliveryStore>().InitializeAsync(cancellationToken);
        }
        catch (Exception ex) when (StoreAndForwardMiddleware.IsStoreFailure(ex) || ex is ArgumentException or UnauthorizedAccessException)
        {
            throw new StartupCheckException(
                [$"ConnectionStrings:{DeliveryOptions.ConnectionStringName}: cannot open the {options.Value.Store} delivery store: {ex.Message}"]);
        }

        DeliveryLog.StoreReady(logger, options.Value.Store.ToString(), options.Value.Mode.ToString());
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
