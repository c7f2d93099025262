using System.Text.Json;

namespace OcpTalkdesk.Gateway.Tests.Commands;

/// <summary>The contract of <c>--help</c>, <c>check-config</c> and <c>validate</c>, run as the real binary.</summary>
public sealed class CommandTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("gateway-commands-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private static string Sample(string name) => File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "samples", name + ".json"));

    [Fact]
    public async Task Help_lists_the_commands_and_starts_nothing()
    {
        var result = await GatewayProcess.RunAsync(["--help"]);

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("check-config", result.Output, StringComparison.Ordinal);
        Assert.Contains("validate --schema FILE", result.Output, StringComparison.Ordinal);
        Assert.Contains("validate --event-type NAME", result.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Check_config_of_a_complete_configuration_prints_a_summary_and_exits_0()
    {
        var result = await GatewayProcess.RunAsync(["check-config"], GatewayProcess.Complete());

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("conversation_ended, conversation_started, message_created", result.Output, StringComparison.Ordinal);
        Assert.Contains("talkdesk-events", result.Output, StringComparison.Ordinal);
        Assert.Contains("https://ocp.example.com/talkdesk/webhook", result.Output, StringComparison.Ordinal);
        Assert.Contains("talkdesk (ApiKey)", result.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("a-secret-for-the-test-only", result.Output + result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Check_config_lists_every_problem_with_its_environment_variable_and_exits_1()
    {
        var environment = GatewayProcess.Complete();
        environment["ReverseProxy__Clusters__ocp__Destinations__primary__Address"] = "not a url";
        environment["Gateway__TokenClients__ocp__ClientId"] = "";

        var result = await GatewayProcess.RunAsync(["check-config"], environment);

        Assert.Equal(1, result.ExitCode);
        var lines = result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains(lines, l => l.StartsWith("error: ReverseProxy:Clusters:ocp:Destinations:primary:Address", StringComparison.Ordinal)
            && l.Contains("(environment variable: ReverseProxy__Clusters__ocp__Destinations__primary__Address)", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("Gateway__TokenClients__ocp__ClientId", StringComparison.Ordinal));
        Assert.DoesNotContain("   at ", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Values_of_the_wrong_type_are_each_named_with_their_key_and_check_config_still_reports_the_rest()
    {
        var environment = GatewayProcess.Complete();
        environment["Gateway__ExecutionTimeout"] = "abc";
        environment["Gateway__Delivery__Mode"] = "Sometimes";
        environment["Kestrel__Limits__MaxRequestHeaderCount"] = "many";
        environment["Gateway__TrustedProxies__0"] = "the-load-balancer";
        environment["Gateway__TokenClients__ocp__ClientId"] = "";

        var check = await GatewayProcess.RunAsync(["check-config"], environment);
        var serve = await GatewayProcess.RunAsync(["--urls", "http://127.0.0.1:0"], environment);

        Assert.Equal(1, check.ExitCode);
        var lines = check.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains(lines, l => l.StartsWith("error: Gateway:ExecutionTimeout is not a duration", StringComparison.Ordinal)
            && l.Contains("Gateway__ExecutionTimeout", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("error: Gateway:Delivery:Mode is not one of Direct, StoreAndForward", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("error: Kestrel:Limits:MaxRequestHeaderCount is not a whole number", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("error: Gateway:TrustedProxies:0", StringComparison.Ordinal));
        // The checks after binding still ran.
        Assert.Contains(lines, l => l.Contains("Gateway__TokenClients__ocp__ClientId", StringComparison.Ordinal));
        Assert.Equal(1, serve.ExitCode);
        Assert.Contains("Gateway:ExecutionTimeout is not a duration", serve.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", check.Error + serve.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Check_config_says_whose_forwarding_headers_are_believed_and_where_operator_endpoints_answer()
    {
        var environment = GatewayProcess.Complete();
        var none = await GatewayProcess.RunAsync(["check-config"], environment);
        environment["Gateway__TrustedProxies__0"] = "10.1.2.0/24";
        var one = await GatewayProcess.RunAsync(["check-config"], environment);

        Assert.Contains("trusted proxies: none", none.Output, StringComparison.Ordinal);
        Assert.Contains("management:    port 9090 only", none.Output, StringComparison.Ordinal);
        Assert.Contains("trusted proxies: 10.1.2.0/24", one.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Validate_resolves_a_relative_path_against_the_folder_dotnet_run_was_called_from()
    {
        await File.WriteAllTextAsync(Path.Combine(_folder, "event.json"), Sample("message_created"));

        var result = await GatewayProcess.RunAsync(["--caller-directory=" + _folder, "validate", "--event-type", "message_created", "event.json"]);

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("{\"valid\":true}", result.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Deliveries_list_works_in_Development_too()
    {
        var environment = new Dictionary<string, string>
        {
            ["ASPNETCORE_ENVIRONMENT"] = "Development",
            ["DOTNET_ENVIRONMENT"] = "Development",
            ["Gateway__Delivery__Mode"] = "StoreAndForward",
            ["ConnectionStrings__Delivery"] = "Data Source=" + Path.Combine(_folder, "deliveries.db"),
        };

        var result = await GatewayProcess.RunAsync(["deliveries", "list"], environment);

        Assert.True(result.ExitCode == 0, result.Error);
    }

    [Fact]
    public async Task Check_config_reads_the_command_line_like_serving_does()
    {
        var environment = GatewayProcess.Complete();
        environment.Remove("Gateway__TokenClients__ocp__ClientId");

        var result = await GatewayProcess.RunAsync(["check-config", "--Gateway:TokenClients:ocp:ClientId=from-the-command-line"], environment);

        Assert.Equal(0, result.ExitCode);
    }

    [Fact]
    public async Task Validate_an_event_type_from_a_file_needs_nothing_else_configured()
    {
        var file = Path.Combine(_folder, "event.json");
        await File.WriteAllTextAsync(file, Sample("message_created"));

        // Production, with no destination, token client or inbound key set.
        var result = await GatewayProcess.RunAsync(["validate", "--event-type", "message_created", file]);

        Assert.Equal(0, result.ExitCode);
        Assert.Equal("{\"valid\":true}", result.Output.Trim());
    }

    [Fact]
    public async Task Validate_jsonl_from_stdin_prints_one_verdict_per_line_and_exits_1_when_any_is_invalid()
    {
        var valid = JsonSerializer.Serialize(JsonDocument.Parse(Sample("message_created")).RootElement);
        var input = valid + "\n" + "{\"event_type\":\"message_created\",\"conversation_id\":7}" + "\n\n" + valid + "\n";

        var result = await GatewayProcess.RunAsync(["validate", "--event-type", "message_created", "--jsonl", "-"], stdin: input);

        Assert.Equal(1, result.ExitCode);
        var lines = result.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(3, lines.Length);
        Assert.Equal("{\"valid\":true}", lines[0]);
        using var invalid = JsonDocument.Parse(lines[1]);
        Assert.False(invalid.RootElement.GetProperty("valid").GetBoolean());
        var errors = invalid.RootElement.GetProperty("errors").EnumerateArray().ToList();
        Assert.Contains(errors, e => e.GetProperty("pointer").GetString() == "/conversation_id" && e.GetProperty("keyword").GetString() == "type");
        Assert.Contains(errors, e => e.GetProperty("pointer").GetString() == "/timestamp" && e.GetProperty("keyword").GetString() == "required");
        Assert.Equal("{\"valid\":true}", lines[2]);
    }

    [Fact]
    public async Task Validate_with_a_schema_file_checks_any_json_value_by_the_standard()
    {
        var schema = Path.Combine(_folder, "schema.json");
        await File.WriteAllTextAsync(schema, """{"if":{"type":"integer"},"then":{"minimum":10},"else":{"type":"string"}}""");

        var result = await GatewayProcess.RunAsync(["validate", "--schema", schema, "--jsonl", "-"], stdin: "12\n3\n\"x\"\nnull\n");

        Assert.Equal(1, result.ExitCode);
        var verdicts = result.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => JsonDocument.Parse(l).RootElement.GetProperty("valid").GetBoolean()).ToArray();
        Assert.Equal([true, false, true, false], verdicts);
    }

    [Fact]
    public async Task Validate_exits_2_when_the_schema_cannot_be_used()
    {
        var schema = Path.Combine(_folder, "schema.json");
        await File.WriteAllTextAsync(schema, """{"minLength": -1}""");

        var result = await GatewayProcess.RunAsync(["validate", "--schema", schema], stdin: "1");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains(schema, result.Error, StringComparison.Ordinal);
        Assert.Empty(result.Output);
    }

    [Fact]
    public async Task Validate_exits_2_when_an_input_is_not_json_and_still_judges_the_others()
    {
        var result = await GatewayProcess.RunAsync(["validate", "--event-type", "message_created", "--jsonl", "-"], stdin: "{not json\n{\"event_type\":\"message_created\"}\n");

        Assert.Equal(2, result.ExitCode);
        Assert.Equal(2, result.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.Contains("line 1", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Validate_exits_2_for_an_event_type_that_is_not_configured()
    {
        var result = await GatewayProcess.RunAsync(["validate", "--event-type", "agent_joined"], stdin: "{}");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("agent_joined", result.Error, StringComparison.Ordinal);
    }
}
