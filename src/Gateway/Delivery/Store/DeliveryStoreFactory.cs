using Microsoft.Extensions.Options;

namespace OcpTalkdesk.Gateway.Delivery;

/// <summary>Builds the configured store from <c>Gateway:Delivery:Store</c> and <c>ConnectionStrings:Delivery</c>.</summary>
internal static class DeliveryStoreFactory
{
    /// <summary>The embedded default: a file under the content root.</summary>
    public static string DefaultSqlitePath(IHostEnvironment environment) => Path.Combine(environment.ContentRootPath, "data", "deliveries.db");

    public static IDeliveryStore Create(IServiceProvider services)
    {
        var options = services.GetRequiredService<IOptions<DeliveryOptions>>().Value;
        var configuration = services.GetRequiredService<IConfiguration>();
        var connectionString = configuration.GetConnectionString(DeliveryOptions.ConnectionStringName);
        var protector = services.GetRequiredService<BodyProtector>();
        var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger("OcpTalkdesk.Gateway.Delivery.Store");
        if (options.Store == DeliveryStoreKind.Postgres)
        {
            return new PostgresDeliveryStore(PostgresDeliveryStore.DataSourceFor(connectionString!), protector, logger, options.LookupTimeout, options.ParkTimeout);
        }

        if (string.IsNullOrWhiteSpace(connectionString))
        {
            var path = DefaultSqlitePath(services.GetRequiredService<IHostEnvironment>());
            connectionString = $"Data Source={path}";
        }

        return new SqliteDeliveryStore(connectionString, services.GetRequiredService<TimeProvider>(), protector, logger);
    }
}
