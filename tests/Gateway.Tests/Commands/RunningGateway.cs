using System.Diagnostics;
using System.Text;
using OcpTalkdesk.Gateway.Tests.Integration;

namespace OcpTalkdesk.Gateway.Tests.Commands;

/// <summary>
/// The published-style gateway as a running process on free loopback ports (events and management),
/// for what only the real binary shows: which ports answer what, and what it logs.
/// </summary>
internal sealed class RunningGateway : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private RunningGateway(Process process, int eventPort, int managementPort)
    {
        _process = process;
        EventPort = eventPort;
        ManagementPort = managementPort;
    }

    public int EventPort { get; }

    public int ManagementPort { get; }

    /// <summary>Everything the process wrote so far (standard output and error).</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    public static async Task<RunningGateway> StartAsync(IReadOnlyDictionary<string, string> environment, params string[] extraArgs)
    {
        var eventPort = Ports.Closed();
        var managementPort = Ports.Closed();
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = AppContext.BaseDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "OcpTalkdesk.Gateway.dll"));
        start.ArgumentList.Add("--urls");
        start.ArgumentList.Add($"http://127.0.0.1:{eventPort}");
        start.ArgumentList.Add($"--Gateway:ManagementPort={managementPort}");
        foreach (var arg in extraArgs)
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        start.Environment["SecretsDirectory"] = Path.Combine(Path.GetTempPath(), "no-secrets-here");
        start.Environment["Logging__Console__FormatterName"] = "simple";
        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }

        var process = Process.Start(start)!;
        var gateway = new RunningGateway(process, eventPort, managementPort);
        process.OutputDataReceived += (_, e) => gateway.Append(e.Data);
        process.ErrorDataReceived += (_, e) => gateway.Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        // Ready when /healthz answers on the management port: polled with a bounded number of tries.
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        for (var attempt = 0; attempt < 300; attempt++)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException("the gateway exited: " + gateway.Output);
            }

            try
            {
                using var response = await client.GetAsync(new Uri($"http://127.0.0.1:{managementPort}/healthz"));
                if (response.IsSuccessStatusCode)
                {
                    return gateway;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet: the next connection attempt is the wait.
            }
            catch (TaskCanceledException)
            {
                // Listening but still starting (a busy machine): one try ran out, the next may not.
            }

            using var pause = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));
            await process.WaitForExitAsync(pause.Token).ContinueWith(_ => { }, TaskScheduler.Default);
        }

        await gateway.DisposeAsync();
        throw new TimeoutException("the gateway did not become live: " + gateway.Output);
    }

    private void Append(string? line)
    {
        if (line is not null)
        {
            lock (_output)
            {
                _output.AppendLine(line);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }
}
