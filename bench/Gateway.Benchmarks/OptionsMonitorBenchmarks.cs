using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using OcpTalkdesk.Gateway.Configuration;
using OcpTalkdesk.Gateway.InboundAuth;

namespace OcpTalkdesk.Gateway.Benchmarks;

/// <summary>
/// What keeping the last good options costs a read, against the framework's monitor: the options are read on every
/// event (the delivery settings once, the inbound method's several times by name).
/// </summary>
[MemoryDiagnoser]
public class OptionsMonitorBenchmarks : IDisposable
{
    private const string Method = "talkdesk";
    private readonly ServiceProvider _framework = Services(lastGood: false);
    private readonly ServiceProvider _lastGood = Services(lastGood: true);
    private IOptionsMonitor<InboundAuthOptions> _frameworkMonitor = null!;
    private IOptionsMonitor<InboundAuthOptions> _lastGoodMonitor = null!;

    [GlobalSetup]
    public void Setup()
    {
        _frameworkMonitor = _framework.GetRequiredService<IOptionsMonitor<InboundAuthOptions>>();
        _lastGoodMonitor = _lastGood.GetRequiredService<IOptionsMonitor<InboundAuthOptions>>();
        if (_lastGoodMonitor is not LastGoodOptionsMonitor<InboundAuthOptions> || _frameworkMonitor is LastGoodOptionsMonitor<InboundAuthOptions>)
        {
            throw new InvalidOperationException("the monitors compared are not the ones meant");
        }
    }

    [Benchmark(Baseline = true, Description = "Framework OptionsMonitor: Get(name)")]
    public InboundAuthOptions FrameworkNamed() => _frameworkMonitor.Get(Method);

    [Benchmark(Description = "LastGoodOptionsMonitor: Get(name)")]
    public InboundAuthOptions LastGoodNamed() => _lastGoodMonitor.Get(Method);

    [Benchmark(Description = "Framework OptionsMonitor: CurrentValue")]
    public InboundAuthOptions FrameworkCurrent() => _frameworkMonitor.CurrentValue;

    [Benchmark(Description = "LastGoodOptionsMonitor: CurrentValue")]
    public InboundAuthOptions LastGoodCurrent() => _lastGoodMonitor.CurrentValue;

    public void Dispose()
    {
        _framework.Dispose();
        _lastGood.Dispose();
        GC.SuppressFinalize(this);
    }

    private static ServiceProvider Services(bool lastGood)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            [$"Gateway:InboundAuth:{Method}:Type"] = "ApiKey",
            [$"Gateway:InboundAuth:{Method}:ApiKeys:0"] = "bench-inbound-key-0001",
        }).Build();
        var services = new ServiceCollection().AddSingleton<ILogger<ConfigurationReloads>>(NullLogger<ConfigurationReloads>.Instance);
        foreach (var name in new[] { Options.DefaultName, Method })
        {
            var options = services.AddOptions<InboundAuthOptions>(name).Bind(configuration.GetSection($"Gateway:InboundAuth:{Method}"));
            if (lastGood)
            {
                options.KeepLastGoodOnReload();
            }
        }

        return services.BuildServiceProvider();
    }
}
