namespace OcpTalkdesk.Gateway.Validation;

/// <summary>Creates the schema registry when the host starts, which starts watching the schema files.</summary>
internal sealed class SchemaWatchStart(IServiceProvider services) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        _ = services.GetRequiredService<SchemaRegistry>();
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
